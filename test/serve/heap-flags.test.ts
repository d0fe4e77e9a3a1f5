import { flagsToAdd, heapFlags } from '../../src/serve/heap-flags.js';

const wanted = heapFlags({ semiSpaceMiB: 8, oldSpaceMiB: 200 });

test('a plan asks for its semi-space and old space', () => {
  expect(wanted).toEqual(['--max-semi-space-size=8', '--max-old-space-size=200']);
});

describe('flagsToAdd', () => {
  test.each([
    ['none given: both', [], '', wanted],
    ['already on the command line (a restarted process): none', ['--max-semi-space-size=8', '--max-old-space-size=200'], '', []],
    ["the operator's own value in NODE_OPTIONS stands", [], '--max-old-space-size=1024', ['--max-semi-space-size=8']],
    ['underscores name the same flag', ['--max_semi_space_size=16'], '', ['--max-old-space-size=200']],
    ['other flags do not count', ['--enable-source-maps'], '--no-warnings  --max-old-space-size-x=1', wanted],
  ])('%s', (_name, execArgv, nodeOptions, expected) => {
    expect(flagsToAdd(wanted, execArgv, nodeOptions)).toEqual(expected);
  });
});
