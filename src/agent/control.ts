import http from "node:http";

/**
 * The config change call (docs/agent-protocol.md, section 4): after the `config` link
 * moved, `POST /_msec/config` with the process's control key. True only for a 200
 * `{"reloaded": true}`; anything else (no listener, an error, no answer in 5 s) means
 * the process did not take the change and must be reloaded.
 */
export function tellConfigChanged(url: string, controlKey: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent: false,
        timeout: 5000,
        headers: { "x-msec-control-key": controlKey, "content-length": 0 },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          if (body.length < 4096) body += c;
        });
        res.on("end", () => {
          try {
            resolve(res.statusCode === 200 && JSON.parse(body).reloaded === true);
          } catch {
            resolve(false);
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(false));
    req.end();
  });
}
