import type { KeyboardEvent } from 'react';
import type { Station, Vehicle, VehicleState } from '@evshare/api/schemas';
import { useI18n } from '../i18n';

/** Data (station names), not UI text: `translate` is not in React's SVG attribute types. */
const NO_TRANSLATE = { translate: 'no' } as Record<string, string>;

const WIDTH = 640;
const HEIGHT = 400;
/** Room around the outermost stations for their ring, name and free-space line. */
const PAD_X = 80;
const PAD_Y = 80;

interface Point {
  x: number;
  y: number;
}

/**
 * Positions from latitude and longitude: an equirectangular projection scaled by cos(latitude),
 * fitted to the drawing. Enough for a city's stations, and needs no map tiles (works offline).
 */
export function projector(points: Array<{ lat: number; lng: number }>): (lat: number, lng: number) => Point {
  if (points.length === 0) return () => ({ x: WIDTH / 2, y: HEIGHT / 2 });
  const lats = points.map((p) => p.lat);
  const lngs = points.map((p) => p.lng);
  const midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
  const k = Math.cos((midLat * Math.PI) / 180);
  const minX = Math.min(...lngs) * k;
  const maxX = Math.max(...lngs) * k;
  const minY = Math.min(...lats);
  const maxY = Math.max(...lats);
  const span = Math.max(maxX - minX, maxY - minY, 0.002);
  const scale = Math.min((WIDTH - 2 * PAD_X) / Math.max(maxX - minX, span * 0.2), (HEIGHT - 2 * PAD_Y) / Math.max(maxY - minY, span * 0.2));
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  return (lat, lng) => ({ x: WIDTH / 2 + (lng * k - cx) * scale, y: HEIGHT / 2 - (lat - cy) * scale });
}

/** One colour per car state: keyed by the API's states, so a new state fails the type check until it has one. */
const VEHICLE_COLOURS: Record<VehicleState, string> = {
  available: '#0a7d5a',
  reserved: '#b26a00',
  in_use: '#1f5fbf',
  charging: '#7a3fbf',
  maintenance: '#777',
  offline: '#c62828',
};

/** The station plan: a drawn map of the stations, each with its cars and free parking. */
export function StationPlan(props: { stations: Station[]; selected?: string; onSelect?(id: string): void; vehicles?: Vehicle[]; title: string }) {
  const { t } = useI18n();
  const positioned = props.vehicles?.filter((v) => v.lat !== null && v.lng !== null) ?? [];
  const project = projector([...props.stations, ...positioned.map((v) => ({ lat: v.lat!, lng: v.lng! }))]);
  const key = (id: string) => (event: KeyboardEvent) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      props.onSelect?.(id);
    }
  };
  return (
    <svg className="plan" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="group" aria-label={props.title}>
      <title>{props.title}</title>
      <defs>
        <pattern id="grid" width="40" height="40" patternUnits="userSpaceOnUse">
          <path d="M40 0H0V40" fill="none" stroke="#dfe7e3" strokeWidth="1" />
        </pattern>
      </defs>
      <rect width={WIDTH} height={HEIGHT} fill="#f4f8f6" />
      <rect width={WIDTH} height={HEIGHT} fill="url(#grid)" />
      <path
        d={`M0 ${HEIGHT * 0.72} C ${WIDTH * 0.3} ${HEIGHT * 0.6}, ${WIDTH * 0.55} ${HEIGHT * 0.95}, ${WIDTH} ${HEIGHT * 0.8}`}
        fill="none"
        stroke="#cfe3f5"
        strokeWidth="18"
      />
      {props.stations.map((s) => {
        const p = project(s.lat, s.lng);
        const selected = s.id === props.selected;
        const colour = s.availableCars > 0 ? '#0a7d5a' : '#8a9590';
        return (
          <g
            key={s.id}
            className={`plan-station${selected ? ' selected' : ''}`}
            transform={`translate(${p.x} ${p.y})`}
            role={props.onSelect ? 'button' : undefined}
            tabIndex={props.onSelect ? 0 : undefined}
            aria-pressed={props.onSelect ? selected : undefined}
            aria-label={t('plan.stationLabel', { name: s.name, cars: s.availableCars, free: s.freeParking })}
            onClick={() => props.onSelect?.(s.id)}
            onKeyDown={key(s.id)}
          >
            <circle r="34" fill={colour} opacity="0.12" />
            <circle r="22" fill="#fff" stroke={colour} strokeWidth={selected ? 5 : 3} />
            <text className="plan-count" textAnchor="middle" dy="6" fill={colour}>
              {s.availableCars}
            </text>
            <text className="plan-name" textAnchor="middle" y="46" {...NO_TRANSLATE}>
              {s.name}
            </text>
            <text className="plan-free" textAnchor="middle" y="62">
              {t('plan.free', { free: s.freeParking })}
            </text>
          </g>
        );
      })}
      {positioned.map((v, i) => {
        const p = project(v.lat!, v.lng!);
        // Cars parked at one station would overlap: spread them on a small ring.
        const angle = (i * 137.5 * Math.PI) / 180;
        return (
          <circle
            key={v.id}
            cx={p.x + Math.cos(angle) * 28}
            cy={p.y + Math.sin(angle) * 28}
            r="6"
            fill={VEHICLE_COLOURS[v.state] ?? '#333'}
            stroke="#fff"
            strokeWidth="1.5"
          >
            <title>{`${v.plate} · ${t(`vehicleState.${v.state}` as 'vehicleState.available')} · ${Math.round(v.socPct)}%`}</title>
          </circle>
        );
      })}
    </svg>
  );
}

export { VEHICLE_COLOURS };
