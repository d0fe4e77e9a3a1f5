#!/usr/bin/env node
// Writes k8s/configmap-policies.yaml from policies/ (every *.cedar file and schema.cedarschema,
// byte for byte). test/k8s fails whenever the two differ; run this after editing a policy:
//   node test/k8s/render-policies-configmap.mjs
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stdout } from 'node:process';
import { fileURLToPath } from 'node:url';
import { Document } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const policiesDir = join(root, 'policies');
const target = join(root, 'k8s', 'configmap-policies.yaml');

const names = readdirSync(policiesDir)
  .filter((name) => (name.endsWith('.cedar') || name === 'schema.cedarschema') && !name.startsWith('.'))
  .sort();
const data = Object.fromEntries(names.map((name) => [name, readFileSync(join(policiesDir, name), 'utf8')]));

const doc = new Document({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'gatehouse-policies', namespace: 'gatehouse', labels: { 'app.kubernetes.io/name': 'gatehouse' } },
  data,
});
doc.commentBefore = [
  ' Generated from policies/ by test/k8s/render-policies-configmap.mjs: edit the policies there',
  ' and run the script again. gatehouse reloads the set when the kubelet updates this volume',
  ' (about a minute after `kubectl apply -k`), and keeps the last good set if the new one is invalid.',
].join('\n');
writeFileSync(target, doc.toString({ blockQuote: 'literal', lineWidth: 0 }));
stdout.write(`wrote ${target} (${names.length} files)\n`);
