// @ts-check
'use strict';
/** What setup.js seeds and the driver logs in with. */
const PASSWORD = 'storm-password-1';
const account = (index) => `1380${String(index).padStart(7, '0')}`;
/** Member `index`'s own loopback source address (driver processes use distinct blocks 127.20+). */
const sourceAddress = (index) => `127.${20 + Math.floor(index / 62_500)}.${Math.floor((index % 62_500) / 250)}.${(index % 250) + 1}`;
module.exports = { PASSWORD, account, sourceAddress };
