import type { ListenOptions, Server } from "node:net";
import { fail, listenError } from "./errors.ts";

/**
 * Listen and resolve with the bound port; a failed bind rejects with an EchoplexError naming
 * `flag`, the setting that chose the port.
 */
export function listen(server: Server, options: ListenOptions, flag = "--port"): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(listenError(err, options.host ?? "", options.port ?? 0, flag));
    server.once("error", onError);
    server.listen(options, () => {
      server.off("error", onError);
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(fail("ECHOPLEX_UNSUPPORTED", { flag }));
        return;
      }
      resolve(address.port);
    });
  });
}
