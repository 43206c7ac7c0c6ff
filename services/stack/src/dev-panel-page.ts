/**
 * The developer panel's page (dev-panel.ts serves it): one HTML page, a stylesheet and a script,
 * no build step and nothing from elsewhere (its policy allows only its own origin). Chinese and
 * English, as the web UI; the language follows the browser until the person picks one.
 */

export const PANEL_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const PANEL_TEXT = {
  zh: {
    title: '开发者面板',
    devOnly: '仅限开发模式（make run）：这里的操作模拟车旁的人和车载终端，不经平台接口。',
    language: '语言',
    car: '车辆',
    platformState: '平台状态',
    signal: '信号',
    online: '在线',
    offline: '离线',
    doors: '车门',
    locked: '已锁',
    unlocked: '已开锁',
    walkUp: '刷卡行程',
    none: '无',
    pilot: '自动驾驶',
    position: '位置',
    battery: '电量',
    odometer: '里程',
    tripsToUpload: '待上传行程',
    card: '会员卡号',
    holdCard: '刷卡',
    cutSignal: '切断信号',
    restoreSignal: '恢复信号',
    station: '网点',
    speed: '车速（公里/小时）',
    drive: '开到网点并停车',
    driving: '行驶',
    drivingTo: '正在开往 {station}，约 {seconds} 秒（{km} 公里）后停车。',
    granted: '车辆已开锁，刷卡行程开始。',
    signalCut: '信号已切断，车辆离线。',
    signalRestored: '信号已恢复。',
    signalPending: '正在重新连接…',
    drivingToNote: '开往 {station}（{speed} 公里/小时）',
    parkNote: '到达后停车；刷卡行程在停车时结束（车辆锁好，行程上传）。',
    noCars: '没有模拟车辆。',
    loadFailed: '无法读取车辆状态：',
    'state.available': '可租',
    'state.reserved': '已预约',
    'state.in_use': '使用中',
    'state.charging': '充电中',
    'state.maintenance': '维护中',
    'state.offline': '离线',
    'pilot.parked': '停放',
    'pilot.boarding': '上车中',
    'pilot.outbound': '驶出中',
    'pilot.inbound': '返回网点中',
    'pilot.waiting-for-lock': '已停车，等待会员锁车',
  },
  en: {
    title: 'Developer panel',
    devOnly: 'Development mode only (make run): what you do here is a person at a simulated car and its terminal, not the platform’s API.',
    language: 'Language',
    car: 'Car',
    platformState: 'Platform state',
    signal: 'Signal',
    online: 'online',
    offline: 'offline',
    doors: 'Doors',
    locked: 'locked',
    unlocked: 'unlocked',
    walkUp: 'Walk-up trip',
    none: 'none',
    pilot: 'Autopilot',
    position: 'Position',
    battery: 'Battery',
    odometer: 'Odometer',
    tripsToUpload: 'Trips to upload',
    card: 'Membership card',
    holdCard: 'Hold card to the car',
    cutSignal: 'Cut signal',
    restoreSignal: 'Restore signal',
    station: 'Station',
    speed: 'Speed (km/h)',
    drive: 'Drive there and park',
    driving: 'Driving',
    drivingTo: 'Driving to {station}: parks in about {seconds} s ({km} km).',
    granted: 'The car unlocked: a walk-up trip started.',
    signalCut: 'Signal cut: the car is offline.',
    signalRestored: 'Signal restored.',
    signalPending: 'Reconnecting…',
    drivingToNote: 'to {station} ({speed} km/h)',
    parkNote: 'It parks on arrival; a walk-up trip ends there (the car locks and uploads the trip).',
    noCars: 'No simulated cars.',
    loadFailed: 'Cannot read the cars: ',
    'state.available': 'available',
    'state.reserved': 'reserved',
    'state.in_use': 'in use',
    'state.charging': 'charging',
    'state.maintenance': 'maintenance',
    'state.offline': 'offline',
    'pilot.parked': 'parked',
    'pilot.boarding': 'boarding',
    'pilot.outbound': 'driving out',
    'pilot.inbound': 'driving to a station',
    'pilot.waiting-for-lock': 'parked, waiting for the member’s lock',
  },
} as const satisfies Record<'zh' | 'en', Record<string, string>>;

export function panelPage(): string {
  return [
    '<!doctype html>',
    '<html lang="zh-CN">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>evshare</title><link rel="stylesheet" href="/panel.css"><script src="/panel.js" defer></script></head>',
    '<body><header><h1 id="title"></h1><nav id="languages"></nav></header><p id="dev-only"></p>',
    '<p id="status" role="status" aria-live="polite"></p><main id="cars"></main></body></html>',
  ].join('\n');
}

export function panelStyle(): string {
  return `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 1rem; color: #1b1f24; }
header { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.5rem; }
h1 { font-size: 1.4rem; margin: 0; }
nav button[aria-pressed="true"] { font-weight: 700; }
#dev-only { background: #fff4d6; border: 1px solid #e0b84c; padding: 0.5rem 0.75rem; border-radius: 6px; }
#status { min-height: 1.5em; font-weight: 600; }
#status.error { color: #b42318; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr)); gap: 0.75rem; }
section { border: 1px solid #d0d7de; border-radius: 8px; padding: 0.75rem; min-width: 0; }
h2 { font-size: 1.05rem; margin: 0 0 0.5rem; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 0.75rem; margin: 0 0 0.75rem; }
dt { color: #57606a; }
dd { margin: 0; overflow-wrap: anywhere; }
form { display: flex; flex-wrap: wrap; gap: 0.4rem; align-items: end; margin-top: 0.5rem; }
label { display: flex; flex-direction: column; font-size: 0.85rem; flex: 1 1 10rem; min-width: 0; }
input, select, button { font: inherit; padding: 0.3rem 0.5rem; max-width: 100%; }
`;
}

/** The page's script: reads /api/state every two seconds and sends what the person does. */
export function panelScript(): string {
  return `'use strict';
(function () {
  var TEXT = ${JSON.stringify(PANEL_TEXT)};
  var saved = null;
  try { saved = localStorage.getItem('evshare-dev-panel-lang'); } catch (e) { saved = null; }
  var lang = saved === 'zh' || saved === 'en' ? saved : /^zh/i.test(navigator.language || '') ? 'zh' : 'en';
  var cars = new Map();
  var last = null;
  function t(key, values) {
    var text = TEXT[lang][key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split('{' + name + '}').join(String(values[name])); });
    return text;
  }
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      if (name === 'text') node.textContent = props[name];
      else node.setAttribute(name, props[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }
  function say(message, isError) {
    var status = document.getElementById('status');
    status.textContent = message;
    status.className = isError ? 'error' : '';
  }
  function send(vin, action, body) {
    return fetch('/api/cars/' + encodeURIComponent(vin) + '/' + action, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(function (reply) {
      return reply.json().then(function (data) {
        if (!reply.ok) throw new Error((data && (data.detail || data.title)) || String(reply.status));
        return data;
      });
    });
  }
  function act(promise, done) {
    promise.then(function (data) { say(done(data), false); return refresh(); }, function (error) { say(error.message, true); });
  }
  function field(dl, key) {
    var dd = el('dd');
    dl.appendChild(el('dt', { text: t(key) }));
    dl.appendChild(dd);
    return dd;
  }
  function carSection(car) {
    var id = 'car-' + car.vin;
    var dl = el('dl');
    var view = {
      state: field(dl, 'platformState'), signal: field(dl, 'signal'), doors: field(dl, 'doors'), walkUp: field(dl, 'walkUp'),
      driving: field(dl, 'driving'), pilot: field(dl, 'pilot'), position: field(dl, 'position'), battery: field(dl, 'battery'), odometer: field(dl, 'odometer'),
      trips: field(dl, 'tripsToUpload'),
    };
    var cardInput = el('input', { id: id + '-card', list: 'known-cards', autocomplete: 'off', spellcheck: 'false' });
    var cardForm = el('form', {}, [el('label', { for: id + '-card', text: t('card') }, [cardInput]), el('button', { type: 'submit', text: t('holdCard') })]);
    cardForm.addEventListener('submit', function (event) {
      event.preventDefault();
      act(send(car.vin, 'card', { cardUid: cardInput.value.trim() }), function () { return t('granted'); });
    });
    var signalButton = el('button', { type: 'button' });
    signalButton.addEventListener('click', function () {
      var online = !cars.get(car.vin).car.connected;
      act(send(car.vin, 'signal', { online: online }), function (data) {
        return !online ? t('signalCut') : data.connected ? t('signalRestored') : t('signalPending');
      });
    });
    var stationSelect = el('select', { id: id + '-station' });
    var speedInput = el('input', { id: id + '-speed', type: 'number', min: '5', max: '150', step: '1', value: '50' });
    var driveForm = el('form', { title: t('parkNote') }, [
      el('label', { for: id + '-station', text: t('station') }, [stationSelect]),
      el('label', { for: id + '-speed', text: t('speed') }, [speedInput]),
      el('button', { type: 'submit', text: t('drive') }),
    ]);
    driveForm.addEventListener('submit', function (event) {
      event.preventDefault();
      var name = stationSelect.options[stationSelect.selectedIndex] ? stationSelect.options[stationSelect.selectedIndex].text : '';
      act(send(car.vin, 'drive', { stationId: stationSelect.value, speedKmh: Number(speedInput.value) }), function (data) {
        return t('drivingTo', { station: name, seconds: data.etaSeconds, km: (data.metres / 1000).toFixed(2) });
      });
    });
    var title = el('h2', { translate: 'no' });
    var section = el('section', { 'data-vin': car.vin, 'aria-labelledby': id + '-title' }, [title, dl, cardForm, el('form', {}, [signalButton]), driveForm]);
    title.id = id + '-title';
    return { section: section, title: title, view: view, signalButton: signalButton, stationSelect: stationSelect, car: car };
  }
  function render(state) {
    last = state;
    var main = document.getElementById('cars');
    if (state.cars.length === 0 && cars.size === 0) main.textContent = t('noCars');
    var datalist = document.getElementById('known-cards') || document.body.appendChild(el('datalist', { id: 'known-cards' }));
    datalist.textContent = '';
    state.cards.forEach(function (card) { datalist.appendChild(el('option', { value: card.uid, label: card.uid + ' · ' + card.member })); });
    state.cars.forEach(function (car) {
      var entry = cars.get(car.vin);
      if (!entry) {
        entry = carSection(car);
        cars.set(car.vin, entry);
        main.appendChild(entry.section);
      }
      entry.car = car;
      entry.title.textContent = (car.plate ? car.plate + ' · ' : '') + car.vin;
      entry.view.state.textContent = car.state ? t('state.' + car.state) : '—';
      entry.view.state.setAttribute('data-state', car.state || '');
      entry.view.signal.textContent = car.connected ? t('online') : t('offline');
      entry.view.doors.textContent = car.locked ? t('locked') : t('unlocked');
      entry.view.walkUp.textContent = car.walkUp ? car.walkUp.tripId + (car.walkUp.offline ? ' (' + t('offline') + ')' : '') : t('none');
      entry.view.driving.textContent = car.driving ? t('drivingToNote', { station: car.driving.station, speed: car.driving.speedKmh }) : t('none');
      entry.view.pilot.textContent = car.pilot ? t('pilot.' + car.pilot) : '—';
      entry.view.position.textContent = car.lat.toFixed(5) + ', ' + car.lng.toFixed(5);
      entry.view.battery.textContent = car.socPct + ' %';
      entry.view.odometer.textContent = (car.odometerM / 1000).toFixed(1) + ' km';
      entry.view.trips.textContent = String(car.tripsToUpload);
      entry.signalButton.textContent = car.connected ? t('cutSignal') : t('restoreSignal');
      var chosen = entry.stationSelect.value;
      var wanted = state.stations.map(function (s) { return s.id + '=' + s.name; }).join('|');
      if (entry.stationSelect.getAttribute('data-list') !== wanted) {
        entry.stationSelect.textContent = '';
        state.stations.forEach(function (station) { entry.stationSelect.appendChild(el('option', { value: station.id, text: station.name })); });
        entry.stationSelect.setAttribute('data-list', wanted);
        if (chosen) entry.stationSelect.value = chosen;
      }
    });
  }
  function refresh() {
    return fetch('/api/state').then(function (reply) {
      if (!reply.ok) throw new Error(String(reply.status));
      return reply.json();
    }).then(render, function (error) { say(t('loadFailed') + error.message, true); });
  }
  function setLanguage(next) {
    lang = next;
    try { localStorage.setItem('evshare-dev-panel-lang', next); } catch (e) { /* private mode: this page only */ }
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = 'evshare · ' + t('title');
    document.getElementById('title').textContent = 'evshare · ' + t('title');
    document.getElementById('dev-only').textContent = t('devOnly');
    var nav = document.getElementById('languages');
    nav.textContent = '';
    nav.setAttribute('aria-label', t('language'));
    [['zh', '中文'], ['en', 'English']].forEach(function (pair) {
      var button = el('button', { type: 'button', lang: pair[0], translate: 'no', 'aria-pressed': String(pair[0] === lang), text: pair[1] });
      button.addEventListener('click', function () { setLanguage(pair[0]); });
      nav.appendChild(button);
    });
    cars.forEach(function (entry) { entry.section.remove(); });
    cars.clear();
    document.getElementById('cars').textContent = '';
    say('', false);
    if (last) render(last);
  }
  setLanguage(lang);
  refresh();
  setInterval(refresh, 2000);
})();
`;
}
