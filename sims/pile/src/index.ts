export { startPileFleet, type FleetOptions, type FleetStats, type PileFleet, type FleetCredentials } from './fleet';
export { SimulatedPile, type PileSpec, type PileOptions } from './pile';
export { profileLimitW, deliveredPowerW, installProfile, clearProfiles, type ChargingProfile, type InstalledProfile } from './limit';
