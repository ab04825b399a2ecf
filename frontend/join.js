// The join page's script: asks the gateway for the call's session, joins it with
// livekit-client, and shows every state in plain words. The participant token lives only in
// a local variable while connecting: never in the page, the URL, storage or the console.
//
// In local mode (data-simulated) there is no media server: the simulator only records that
// someone joined. The page then shows a simulated call instead: it joins the simulator's
// room socket (so the call goes live), and shows the conversation as the simulated agent
// "speaks" it (GET …/progress). Whatever the mode, the page notices a call that ended
// elsewhere (Slack's Stop, the dashboard, the agent hanging up).
import {
  DisconnectReason,
  LogLevel,
  Room,
  RoomEvent,
  Track,
  createLocalAudioTrack,
  setLogLevel,
} from 'livekit-client';

setLogLevel(LogLevel.silent);

// How long to wait for the voice server's first answer before calling it failed.
const CONNECT_TIMEOUT_MS = 10000;
// How often the page asks whether the call is still on (and, simulated, what was said).
const PROGRESS_EVERY_MS = 4000;
const SIMULATED_PROGRESS_EVERY_MS = 1000;

const section = document.getElementById('call');
const agent = section.dataset.agent || 'the agent';
const simulated = section.dataset.simulated === 'true';
const ui = {
  label: document.getElementById('state-label'),
  message: document.getElementById('message'),
  timer: document.getElementById('timer'),
  join: document.getElementById('join'),
  retry: document.getElementById('retry'),
  leave: document.getElementById('leave'),
  confirm: document.getElementById('confirm-leave'),
  cancel: document.getElementById('cancel-leave'),
  audio: document.getElementById('audio'),
  transcript: document.getElementById('transcript'),
};

// label, message, and which buttons show. `leave` is offered whenever the call may run.
const STATES = {
  ready: {
    label: 'Ready',
    message: `Press “Join call” to talk with ${agent}. Your browser will ask to use your microphone.`,
    join: true,
    leave: true,
  },
  connecting: { label: 'Connecting', message: 'Connecting…', leave: true },
  live: { label: 'Live', message: `You are talking with ${agent}.`, leave: true, timer: true },
  'live-simulated': {
    label: 'Live (simulated)',
    message:
      `This is a simulated call with ${agent}: there is no audio in local mode. ` +
      'The conversation appears below as the simulated agent speaks. Press “Leave” to end it.',
    leave: true,
    timer: true,
  },
  'confirm-leave': {
    label: 'End the call?',
    message:
      `You have not joined yet. Leaving ends the call for good: ${agent} hangs up and this ` +
      'link stops working.',
    confirm: true,
  },
  leaving: { label: 'Leaving', message: 'Ending the call…' },
  ended: { label: 'Call ended', message: 'The call has ended. You can close this tab.' },
  'ended-elsewhere': {
    label: 'Call ended',
    message: 'The call was ended elsewhere, or this link expired. You can close this tab.',
  },
  expired: {
    label: 'Link expired',
    message:
      'This join link has expired or the call is over. Ask whoever sent it for a new link. ' +
      'If the call may still be running, press “Leave” to end it.',
    leave: true,
  },
  'mic-denied': {
    label: 'Microphone blocked',
    message:
      `Your browser did not allow the microphone, so ${agent} cannot hear you. Allow microphone ` +
      'access for this page (use the icon at the left of the address bar), then press “Try again”. ' +
      'Or press “Leave” to end the call.',
    retry: true,
    leave: true,
  },
  'mic-missing': {
    label: 'No microphone',
    message:
      'No microphone was found. Connect a microphone or headset, then press “Try again”. ' +
      'Or press “Leave” to end the call.',
    retry: true,
    leave: true,
  },
  'mic-busy': {
    label: 'Microphone busy',
    message:
      'Your microphone is in use by another app or tab. Close it there, then press “Try again”. ' +
      'Or press “Leave” to end the call.',
    retry: true,
    leave: true,
  },
  insecure: {
    label: 'Microphone unavailable',
    message:
      'Browsers only allow the microphone on secure (https://) pages. Ask whoever runs this ' +
      'gateway to serve it over HTTPS. Press “Leave” to end the call.',
    leave: true,
  },
  'voice-failed': {
    label: 'Voice connection failed',
    message:
      'The voice connection could not be set up. Check your internet connection; VPNs and ' +
      'company firewalls sometimes block calls, so try another network if you can. Then press ' +
      '“Try again”. If it keeps failing, press “Leave” and ask for a new link.',
    retry: true,
    leave: true,
  },
  'voice-lost': {
    label: 'Connection lost',
    message:
      'The voice connection dropped. Press “Try again” to rejoin, or “Leave” to end the call.',
    retry: true,
    leave: true,
  },
  busy: {
    label: 'Too many attempts',
    message: 'Too many attempts in a short time. Wait a minute, then press “Try again”.',
    retry: true,
    leave: true,
  },
  error: {
    label: 'Something went wrong',
    message:
      'The call could not be joined just now. Press “Try again” in a moment, or “Leave” to end the call.',
    retry: true,
    leave: true,
  },
  'leave-failed': {
    label: 'Could not leave',
    message: 'The call could not be ended just now. Press “Leave” again in a moment.',
    leave: true,
  },
};

let current = 'ready';
let room = null;
let simSocket = null;
let mic = null;
let leaving = false;
let timerHandle = null;
// Each join attempt has a number; pressing Leave (or a newer attempt) makes it stale.
let attempt = 0;

function render(name, message) {
  const state = STATES[name];
  current = name;
  section.dataset.state = name;
  ui.label.textContent = state.label;
  ui.message.textContent = message || state.message;
  ui.join.hidden = !state.join;
  ui.join.disabled = !state.join;
  ui.retry.hidden = !state.retry;
  ui.leave.hidden = !state.leave;
  ui.leave.disabled = !state.leave;
  ui.confirm.hidden = !state.confirm;
  ui.cancel.hidden = !state.confirm;
  ui.timer.hidden = !state.timer;
  if (state.timer) startTimer();
  else stopTimer();
  keepFocus();
}

// Keyboard users keep a sensible focus when the button they pressed disappears (a
// disabled button loses focus to <body>). The first render leaves focus where it is.
let acted = false;
function keepFocus() {
  if (!acted) return;
  const active = document.activeElement;
  if (active && active !== document.body && !active.hidden && !active.disabled) return;
  const next = [ui.join, ui.retry, ui.confirm, ui.leave].find((b) => !b.hidden && !b.disabled);
  if (next) next.focus();
}

function startTimer() {
  if (timerHandle !== null) return;
  const started = Date.now();
  const tick = () => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    const mm = String(Math.floor(seconds / 60)).padStart(2, '0');
    const ss = String(seconds % 60).padStart(2, '0');
    ui.timer.textContent = `${mm}:${ss}`;
  };
  tick();
  timerHandle = setInterval(tick, 1000);
}

function stopTimer() {
  if (timerHandle !== null) clearInterval(timerHandle);
  timerHandle = null;
}

// POST to this link's own endpoints, relative to the page (works behind a path prefix).
function post(action) {
  const base = window.location.pathname.replace(/\/+$/, '');
  return fetch(`${base}/${action}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
    cache: 'no-store',
    credentials: 'same-origin',
  });
}

function micProblem(error) {
  const name = (error && error.name) || '';
  if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') {
    return 'mic-denied';
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    return 'mic-missing';
  }
  return 'mic-busy';
}

// The call's session ({server_url, participant_token}), or null after rendering why not.
async function fetchSession(stale) {
  let response;
  try {
    response = await post('session');
  } catch (_) {
    if (stale()) return null;
    await releaseMedia();
    render('error');
    return null;
  }
  if (stale()) return null;
  if (!response.ok) {
    await releaseMedia();
    render(response.status === 404 ? 'expired' : response.status === 429 ? 'busy' : 'error');
    return null;
  }
  let session;
  try {
    session = await response.json();
  } catch (_) {
    session = null;
  }
  if (stale()) return null;
  if (!session || !session.server_url || !session.participant_token) {
    await releaseMedia();
    render('error');
    return null;
  }
  return session;
}

async function releaseMedia() {
  const old = room;
  room = null;
  if (simSocket) simSocket.close();
  simSocket = null;
  if (old) {
    try {
      await old.disconnect();
    } catch (_) {
      // already gone
    }
  }
  if (mic) mic.stop();
  mic = null;
  ui.audio.replaceChildren();
}

function onTrackSubscribed(track) {
  if (track.kind === Track.Kind.Audio) ui.audio.appendChild(track.attach());
}

function onDisconnected(reason) {
  if (leaving || current !== 'live') return;
  const over = [
    DisconnectReason.ROOM_DELETED,
    DisconnectReason.PARTICIPANT_REMOVED,
    DisconnectReason.ROOM_CLOSED,
  ];
  releaseMedia();
  render(over.includes(reason) ? 'ended' : 'voice-lost');
}

// Simulated: no microphone, no media; the simulator's room socket marks the call joined.
async function joinSimulated(session, stale) {
  const url = `${session.server_url.replace(/\/+$/, '')}/rtc/v1`;
  const socket = new WebSocket(`${url}?access_token=${encodeURIComponent(session.participant_token)}`);
  simSocket = socket;
  const opened = await new Promise((resolve) => {
    socket.addEventListener('open', () => resolve(true), { once: true });
    socket.addEventListener('error', () => resolve(false), { once: true });
    setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
  });
  if (stale() || simSocket !== socket) return;
  if (!opened) {
    await releaseMedia();
    render('voice-failed');
    return;
  }
  socket.addEventListener('close', () => {
    if (simSocket === socket && current === 'live-simulated') checkProgress();
  });
  render('live-simulated');
  scheduleProgress();
}

async function join() {
  const mine = ++attempt;
  const stale = () => mine !== attempt;
  if (simulated) {
    render('connecting', `Connecting to ${agent}…`);
    const session = await fetchSession(stale);
    if (session) await joinSimulated(session, stale);
    return;
  }
  render('connecting', 'Asking for your microphone…');
  if (!window.isSecureContext || !navigator.mediaDevices) {
    render('insecure');
    return;
  }
  try {
    mic = await createLocalAudioTrack({
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
    });
  } catch (error) {
    mic = null;
    if (!stale()) render(micProblem(error));
    return;
  }
  if (stale()) {
    mic.stop();
    return;
  }
  render('connecting', `Connecting to ${agent}…`);
  let session = await fetchSession(stale);
  if (!session) return;
  const thisRoom = new Room({ adaptiveStream: false, dynacast: false });
  room = thisRoom;
  thisRoom.on(RoomEvent.TrackSubscribed, onTrackSubscribed);
  thisRoom.on(RoomEvent.TrackUnsubscribed, (track) => track.detach().forEach((el) => el.remove()));
  thisRoom.on(RoomEvent.Disconnected, onDisconnected);
  try {
    await thisRoom.connect(session.server_url, session.participant_token, {
      autoSubscribe: true,
      websocketTimeout: CONNECT_TIMEOUT_MS,
      peerConnectionTimeout: CONNECT_TIMEOUT_MS,
    });
    session = null;
    await thisRoom.localParticipant.publishTrack(mic);
    await thisRoom.startAudio();
  } catch (_) {
    session = null;
    if (stale() || room !== thisRoom) return;
    await releaseMedia();
    render('voice-failed');
    return;
  }
  if (stale() || room !== thisRoom) return;
  render('live');
}

// Before joining, Leave asks first: it ends the call for everyone, for good.
function askLeave() {
  if (current === 'ready') {
    render('confirm-leave');
    return;
  }
  leave();
}

async function leave() {
  attempt += 1;
  leaving = true;
  render('leaving');
  let response = null;
  try {
    response = await post('leave');
  } catch (_) {
    response = null;
  }
  await releaseMedia();
  // 404: the link is gone, so the call already ended (or nothing can end it from here).
  if (response && (response.ok || response.status === 404)) {
    render('ended');
  } else {
    render('leave-failed');
  }
  leaving = false;
}

// The transcript so far (simulated calls): one line per turn, replaced as turns grow.
function showTurns(turns) {
  if (!Array.isArray(turns) || !ui.transcript) return;
  ui.transcript.hidden = turns.length === 0;
  const lines = turns.map((turn) => {
    const line = document.createElement('li');
    line.className = turn.role === 'user' ? 'turn user' : 'turn agent';
    const who = document.createElement('strong');
    who.textContent = turn.role === 'user' ? 'Caller: ' : `${agent}: `;
    line.append(who, document.createTextNode(turn.text || ''));
    if (!turn.final) line.classList.add('partial');
    return line;
  });
  ui.transcript.replaceChildren(...lines);
}

// States in which the call may still end elsewhere without this page hearing of it.
const WATCHED = new Set(['ready', 'confirm-leave', 'live-simulated', 'expired', 'voice-failed',
  'voice-lost', 'mic-denied', 'mic-missing', 'mic-busy', 'insecure', 'busy', 'error']);
let progressHandle = null;

function scheduleProgress() {
  if (progressHandle !== null) clearTimeout(progressHandle);
  const every = current === 'live-simulated' ? SIMULATED_PROGRESS_EVERY_MS : PROGRESS_EVERY_MS;
  progressHandle = setTimeout(checkProgress, every);
}

async function checkProgress() {
  progressHandle = null;
  if (!WATCHED.has(current) || leaving) return;
  const base = window.location.pathname.replace(/\/+$/, '');
  let response = null;
  try {
    response = await fetch(`${base}/progress`, { cache: 'no-store', credentials: 'same-origin' });
  } catch (_) {
    response = null; // offline for a moment: ask again later
  }
  if (response && response.ok) {
    let progress = null;
    try {
      progress = await response.json();
    } catch (_) {
      progress = null;
    }
    if (progress) showTurns(progress.turns);
    if (progress && progress.over && WATCHED.has(current) && !leaving) {
      attempt += 1;
      await releaseMedia();
      render(current === 'live-simulated' ? 'ended' : 'ended-elsewhere');
      return;
    }
  } else if (response && response.status === 404) {
    // The link is gone: the call ended (its link dies with it) or the link expired.
    if (current !== 'expired' && !leaving) {
      attempt += 1;
      await releaseMedia();
      render(current === 'live-simulated' ? 'ended' : 'ended-elsewhere');
    }
    return;
  }
  scheduleProgress();
}

for (const [button, action] of [
  [ui.join, join],
  [ui.retry, join],
  [ui.leave, askLeave],
  [ui.confirm, leave],
  [ui.cancel, () => render('ready')],
]) {
  button.addEventListener('click', () => {
    acted = true;
    action();
  });
}
render('ready');
scheduleProgress();
