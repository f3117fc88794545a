import { createInterface } from "node:readline";
import { UsageError } from "./errors.js";

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/** A password from stdin (`--password-stdin`), or asked for without echo on a terminal. */
export async function readPassword(fromStdin: boolean, prompt: string): Promise<string> {
  if (fromStdin) return readStdin();
  if (!process.stdin.isTTY) {
    throw new UsageError("no terminal to ask for the password: pass it with --password-stdin");
  }
  return askHidden(prompt);
}

function askHidden(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  let muted = false;
  // Echo the prompt, then nothing of what is typed.
  const out = rl as unknown as { _writeToOutput: (s: string) => void };
  out._writeToOutput = (s: string) => {
    if (!muted || s.includes("\n")) process.stderr.write(muted ? "\n" : s);
  };
  return new Promise((resolve) => {
    rl.question(prompt, (answer) => {
      rl.close();
      resolve(answer);
    });
    muted = true;
  });
}
