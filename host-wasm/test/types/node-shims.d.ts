// The few Node APIs the README's example uses, declared here so the check needs no @types/node.
declare module "node:os" {
  export function hostname(): string;
  export function userInfo(): { username: string };
}
declare module "node:fs" {
  export function existsSync(path: string): boolean;
  export function readFileSync(path: string, encoding: "utf8"): string;
  export function writeFileSync(path: string, data: string): void;
}
