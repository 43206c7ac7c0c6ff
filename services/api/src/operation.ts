import type { Operation } from '@evshare/kit';

/** Declares an operation, keeping its literal types (access, schemas) for the handler's input. */
export const op = <const O extends Operation>(operation: O): O => operation;
