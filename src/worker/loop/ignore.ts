/**
 * An 'error' listener for errors counted or answered elsewhere (a UDP send to a vanished port,
 * a reset on a socket already being closed): without a listener, an 'error' event throws.
 */
export function ignore(): void {}
