export { telematicsConfigSchema, type TelematicsConfig } from './config';
export { startTelematics, vehicleAlertSubject, vehicleEventSubject, vehicleStatusSubject, type TelematicsDeps, type TelematicsService } from './service';
export { provisionVehicleCredentials, verifyVehicleSecret, type VehicleCredential } from './credentials';
export { startEmbeddedBroker, type EmbeddedBroker } from './broker';
export { recordTrip, tripReference, type TripOutcome } from './trips';
export { evaluateAlerts, type AlertKind } from './alerts';
export * from './protocol';
export * from './whitelist';
