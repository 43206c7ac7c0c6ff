export { SimCar, tripId, type SimCarOptions, type CarCounters, type TerminalCredential } from './car';
export { startVehicleFleet, simulatedVin, SHANGHAI_STATIONS, type Fleet, type FleetOptions } from './fleet';
export { CommandLedger, type Ack, type Decision } from './commands';
export { platformPublicKey } from './platform-key';
export { drive, charge, type Physics } from './model';
export {
  startRentalAutopilot,
  nearestStation,
  bearing,
  driveRefusal,
  park,
  stepTowards,
  type DriveRefusal,
  type StepOutcome,
  type RentalAutopilot,
  type RentalAutopilotOptions,
  type ParkingStation,
  type PilotPhase,
} from './autopilot';
