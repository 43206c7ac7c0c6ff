/** The part of proxy-addr (express's `trust proxy` engine) this service uses; it ships no types. */
declare module 'proxy-addr' {
  /** Compiles addresses, CIDR ranges and the names loopback, linklocal, uniquelocal into a predicate. */
  export function compile(trusted: string | string[]): (address: string, hop: number) => boolean;
}
