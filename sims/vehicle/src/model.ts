/**
 * The car's physical model: position, speed, charge and odometer. Pure; the energy use is a
 * constant per km (a small EV uses about 130 Wh/km), charging adds energy at the pile's power.
 */
export interface Physics {
  lat: number;
  lng: number;
  speedKmh: number;
  socPct: number;
  odometerM: number;
  batteryKwh: number;
  whPerKm: number;
}

const EARTH_M_PER_DEG_LAT = 111_320;

/** Drives `dtMs` at `speedKmh` towards `headingRad` (0 = north); stops when the battery is empty. */
export function drive(p: Physics, dtMs: number, speedKmh: number, headingRad: number): Physics {
  if (p.socPct <= 0 || speedKmh <= 0 || dtMs <= 0) return { ...p, speedKmh: 0 };
  const wantedM = (speedKmh / 3.6) * (dtMs / 1000);
  const rangeM = ((p.socPct / 100) * p.batteryKwh * 1000 * 1000) / p.whPerKm;
  const metres = Math.min(wantedM, rangeM);
  const usedPct = (((metres / 1000) * p.whPerKm) / 1000 / p.batteryKwh) * 100;
  const dLat = (metres * Math.cos(headingRad)) / EARTH_M_PER_DEG_LAT;
  const dLng = (metres * Math.sin(headingRad)) / (EARTH_M_PER_DEG_LAT * Math.cos((p.lat * Math.PI) / 180));
  const socPct = Math.max(0, p.socPct - usedPct);
  return {
    ...p,
    lat: p.lat + dLat,
    lng: p.lng + dLng,
    speedKmh: socPct > 0 ? speedKmh : 0,
    socPct,
    odometerM: p.odometerM + Math.round(metres),
  };
}

/** Charges `dtMs` at `powerKw` (parked, cable in); never above 100 %. */
export function charge(p: Physics, dtMs: number, powerKw: number): Physics {
  const addedKwh = (powerKw * dtMs) / 3_600_000;
  return { ...p, speedKmh: 0, socPct: Math.min(100, p.socPct + (addedKwh / p.batteryKwh) * 100) };
}

/** Rounded the way the terminal reports it. */
export const reportedSoc = (p: Physics) => Math.round(p.socPct * 100) / 100;
