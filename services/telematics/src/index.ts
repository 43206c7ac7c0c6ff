export { telematicsConfigSchema, type TelematicsConfig } from './config';
export { startTelematics, type TelematicsDeps, type TelematicsService } from './service';
export { provisionVehicleCredentials, verifyVehicleSecret, type VehicleCredential } from '@evshare/kit';
export { startEmbeddedBroker, type EmbeddedBroker } from './broker';
export { recordTrip, recordWalkUp, tripReference, type TripOutcome, type WalkUpOutcome } from './trips';
export { evaluateAlerts, type AlertKind } from './alerts';
export { nearestStations, noticeLowBattery, noticeTripBilled, noticeWalkUpStarted, type NearbyStation } from './notices';
export * from './protocol';
export * from './whitelist';
export * from './fleet-list';
export * from './unlock';
export {
  APP_KEY_CLOCK_SKEW_S,
  APP_KEY_MAX_VALIDITY_S,
  APP_KEY_PREFIX,
  appKeyPrivateKey,
  appKeyPublicKey,
  signAppKey,
  verifyAppKey,
  type AppKeyCheck,
  type AppKeyClaims,
  type AppKeyRefusal,
} from '@evshare/kit';
