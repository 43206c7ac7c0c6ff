// The wire schemas of every area, and their types for clients (the web UI imports these, type-only).
export * from './common';
export * from './members';
export * from './auth';
export * from './sync';
export * from './rental';
export * from './wallet';
export * from './reviews';
export * from './reports';
export * from './cluster';
export * from './charging';
