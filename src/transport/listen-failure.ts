import { ErrorCode, errorMessage, GatehouseError } from '../errors.js';

/**
 * A listener that could not be opened, said in one line that names the address and the setting
 * that chose it: the operator's fix is a flag or a config key, and grpc-js and node:net wrap the
 * errno in text and a stack that only bury it.
 */
export function listenFailure(address: string, setting: '--listen / listen' | '--http-listen / httpListen' | 'httpAuthz.listen', err: unknown): GatehouseError {
  const text = errorMessage(err);
  const errno = /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES|ENOTFOUND|EAI_AGAIN)\b/.exec(text)?.[1];
  const reason = errno === undefined ? text : (reasons[errno] ?? errno);
  return new GatehouseError(ErrorCode.config, `cannot listen on ${address} (${setting}): ${reason}`, { cause: err });
}

const reasons: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (EADDRINUSE)',
  EADDRNOTAVAIL: 'no interface has this address (EADDRNOTAVAIL)',
  EACCES: 'permission denied (EACCES)',
  ENOTFOUND: 'the host name does not resolve (ENOTFOUND)',
  EAI_AGAIN: 'the host name does not resolve (EAI_AGAIN)',
};
