#!/usr/bin/env node
// A policy directory as the gatehouse-policies ConfigMap (docs/deploy.md, "Policies"): every
// *.cedar file and schema.cedarschema of DIR, byte for byte, as one YAML document.
//
//   node scripts/render-policies-configmap.mjs DIR [--out FILE] [--name NAME] [--namespace NS]
//
// Without --out the YAML goes to standard output. Exit 0 written, 1 DIR is not a policy
// directory (no schema, no policy, too large for a ConfigMap), 2 bad usage.
// `npm run render:policies` renders policies/ into k8s/configmap-policies.yaml.
import { Buffer } from 'node:buffer';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argv, exit, stderr, stdout } from 'node:process';
import { parseArgs } from 'node:util';
import { Document } from 'yaml';

const usage = 'usage: render-policies-configmap.mjs DIR [--out FILE] [--name NAME] [--namespace NS]';
// Kubernetes refuses a ConfigMap whose data is over 1 MiB.
const maxBytes = 1024 * 1024;

let args;
try {
  args = parseArgs({
    args: argv.slice(2),
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      name: { type: 'string', default: 'gatehouse-policies' },
      namespace: { type: 'string', default: 'gatehouse' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  fail(2, `${err.message}\n${usage}`);
}
if (args.values.help) {
  stdout.write(`${usage}\n`);
  exit(0);
}
if (args.positionals.length !== 1) fail(2, `expected one policy directory\n${usage}`);
const [dir] = args.positionals;

let names;
try {
  names = readdirSync(dir)
    .filter((name) => (name.endsWith('.cedar') || name === 'schema.cedarschema') && !name.startsWith('.') && statSync(join(dir, name)).isFile())
    .sort();
} catch (err) {
  fail(1, `${dir}: cannot read the policy directory: ${err.message}`);
}
if (!names.includes('schema.cedarschema')) fail(1, `${dir}: no schema.cedarschema; gatehouse needs one beside the policies`);
if (names.length === 1) fail(1, `${dir}: no *.cedar policy file`);

const data = Object.fromEntries(names.map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
const bytes = Object.values(data).reduce((sum, text) => sum + Buffer.byteLength(text), 0);
if (bytes > maxBytes) fail(1, `${dir}: ${bytes} bytes of policies, more than the ${maxBytes} a ConfigMap may hold`);

const doc = new Document({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: args.values.name, namespace: args.values.namespace, labels: { 'app.kubernetes.io/name': 'gatehouse' } },
  data,
});
doc.commentBefore = [
  ` Generated from ${dir} by scripts/render-policies-configmap.mjs: edit the policies there and`,
  ' run it again. gatehouse reloads the set when the kubelet updates this volume (about a minute',
  ' after `kubectl apply -k`), and keeps the last good set if the new one is invalid.',
].join('\n');
const yaml = doc.toString({ blockQuote: 'literal', lineWidth: 0 });
if (args.values.out === undefined) stdout.write(yaml);
else {
  writeFileSync(args.values.out, yaml);
  stderr.write(`wrote ${args.values.out} (${names.length} files from ${dir})\n`);
}

function fail(code, message) {
  stderr.write(`render-policies-configmap: ${message}\n`);
  exit(code);
}
