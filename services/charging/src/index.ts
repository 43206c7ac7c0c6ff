export { chargingConfigSchema, type ChargingConfig } from './config';
export { startCharging, type ChargingDeps, type RunningCharging } from './service';
export { provisionPiles, type PileCredentials } from './provision';
export { hashPilePassword, verifyPilePassword, newPilePassword } from './credentials';
export { energyCostFen, bandAt, parseTariffBands, toPlannerTariff, type Tariff, type Band, type BandSpan } from './tariff';
export { profileFromSchedule, SMART_PROFILE_ID } from './profile';
export { PARKED_VEHICLE, OCPP_PATH } from './central';
export { PileCallError } from './routing';
