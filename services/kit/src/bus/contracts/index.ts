export * from './app';
export * from './charging';
export * from './cluster';
export * from './deductions';
export * from './push';
export * from './session';
export * from './sms';
export * from './vehicle';
