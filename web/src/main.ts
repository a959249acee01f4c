import './styles.css';
import { refreshSession } from './api';
import { h, ICONS, icon } from './dom';
import { signedOutNotice } from './messages';
import { session } from './session';
import { accountView } from './views/account';
import { authView } from './views/auth';
import { Gallery } from './views/gallery';
import { photoView } from './views/photo';
import { Uploads } from './views/uploads';

const root = document.getElementById('app')!;

const picker = h('input', {
  type: 'file',
  accept: 'image/*',
  multiple: true,
  class: 'visually-hidden',
  tabIndex: -1,
  'aria-hidden': 'true',
});
const chooseFiles = () => picker.click();
let gallery = new Gallery(chooseFiles);
let uploads = new Uploads((image) => gallery.added(image));
picker.addEventListener('change', () => {
  if (picker.files) uploads.add([...picker.files]);
  picker.value = '';
});

const main = h('main', { id: 'main', tabIndex: -1 });
const navLink = (href: string, label: string, glyph: string) =>
  h('a', { href, class: 'nav-link' }, icon(glyph), h('span', null, label));
const nav = {
  photos: navLink('#/', 'Photos', ICONS.photo),
  account: navLink('#/account', 'Account', ICONS.user),
};
const header = h(
  'header',
  { class: 'topbar' },
  h('a', { href: '#/', class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'imagehub'),
  h('nav', { 'aria-label': 'Main' }, nav.photos, nav.account),
  h(
    'button',
    { type: 'button', class: 'button primary', onClick: chooseFiles },
    icon(ICONS.upload),
    h('span', null, 'Upload'),
  ),
);
const dropHint = h(
  'div',
  { class: 'drop-hint', 'aria-hidden': 'true' },
  h('div', null, icon(ICONS.upload), 'Drop photos to upload'),
);
const shell = h(
  'div',
  { class: 'shell' },
  h('a', { href: '#main', class: 'skip-link' }, 'Skip to content'),
  header,
  main,
  uploads.element,
  picker,
  dropHint,
);

// Drop anywhere while signed in: the whole window is the drop zone.
let dragDepth = 0;
const hasFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') ?? false;
window.addEventListener('dragenter', (event) => {
  if (!hasFiles(event) || !shell.isConnected) return;
  dragDepth++;
  shell.classList.add('dragging');
});
window.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) shell.classList.remove('dragging');
});
window.addEventListener('dragover', (event) => {
  if (hasFiles(event)) event.preventDefault();
});
window.addEventListener('drop', (event) => {
  event.preventDefault();
  dragDepth = 0;
  shell.classList.remove('dragging');
  if (!shell.isConnected) return;
  const files = [...(event.dataTransfer?.files ?? [])];
  if (files.length) uploads.add(files);
});

let current: 'gallery' | 'other' = 'other';
/** How the last session ended, for the sign-in screen to say; gone once someone signs in. */
let notice: string | undefined;

/** Renders the screen the hash names, and moves focus to its heading so screen readers follow. */
function route(): void {
  const hash = location.hash.replace(/^#/, '') || '/';
  // A stored refresh token is a session too: when the refresh at start failed for a passing reason
  // (offline, throttled, the service down), the screens' requests try it again and say why they failed.
  const signedIn = session.accessToken !== undefined || session.refreshToken !== undefined;
  if (hash === '/signin' || hash === '/register') {
    if (signedIn) navigate('#/');
    else {
      const onSignedIn = () => {
        notice = undefined;
        navigate('#/');
      };
      show(authView(hash === '/signin' ? 'signin' : 'register', onSignedIn, notice), false);
    }
    return;
  }
  if (!signedIn) {
    navigate('#/signin');
    return;
  }
  if (current === 'gallery') gallery.leave();
  const photo = hash.match(/^\/photo\/(.+)$/);
  if (photo) {
    current = 'other';
    const onDeleted = (id: string) => {
      gallery.removed(id);
      navigate('#/');
    };
    show(photoView(decodeURIComponent(photo[1]!), onDeleted), true);
  } else if (hash === '/account') {
    current = 'other';
    show(accountView(), true, nav.account);
  } else {
    current = 'gallery';
    show(gallery.element, true, nav.photos);
    gallery.enter();
  }
}

function navigate(hash: string): void {
  location.hash = hash;
}

function show(view: HTMLElement, withShell: boolean, active?: HTMLElement): void {
  if (withShell) {
    if (!shell.isConnected) root.replaceChildren(shell);
    for (const link of Object.values(nav)) link.removeAttribute('aria-current');
    active?.setAttribute('aria-current', 'page');
    main.replaceChildren(view);
  } else {
    root.replaceChildren(view);
  }
  document.title = `${view.querySelector('h1')?.textContent ?? 'Photos'} · imagehub`;
  (view.querySelector('h1') ?? main).focus({ preventScroll: true });
}

// Signing out (or a session the server ends) forgets everything that belonged to the account.
session.onSignedOut((reason) => {
  notice = signedOutNotice(reason);
  gallery = new Gallery(chooseFiles);
  uploads = new Uploads((image) => gallery.added(image));
  shell.replaceChild(uploads.element, shell.querySelector('.uploads')!);
  current = 'other';
  location.hash = '#/signin';
  route();
});

async function start(): Promise<void> {
  // After a reload only the refresh token is left: trade it for an access token first. If that
  // fails, a refused token has signed out (sign-in says so); any other failure leaves it stored.
  if (session.refreshToken) await refreshSession();
  window.addEventListener('hashchange', route);
  route();
}

void start();
