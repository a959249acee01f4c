import { api, type User } from '../api';
import { formatBytes, formatDate, h } from '../dom';
import { generalMessage } from '../messages';

/**
 * The account screen, one card per concern. Sessions, password change and account deletion get
 * cards of their own here once the API has them (the accounts issue); each is a function below.
 */
export function accountView(): HTMLElement {
  const cards = h('div', { class: 'account-cards' }, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  void api.me().then(({ user, error }) => {
    cards.replaceChildren();
    if (!user) {
      cards.append(
        h(
          'p',
          { class: 'form-error', role: 'alert' },
          error ? generalMessage(error) : 'Could not load your account.',
        ),
      );
      return;
    }
    cards.append(profileCard(user), storageCard(user), signOutCard());
  });
  return h(
    'section',
    { class: 'account', 'aria-labelledby': 'account-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'account-title', tabIndex: -1 }, 'Account')),
    cards,
  );
}

function profileCard(user: User): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'profile-title' },
    h('h2', { id: 'profile-title' }, 'Profile'),
    h(
      'dl',
      null,
      h('dt', null, 'Name'),
      h('dd', null, user.name),
      h('dt', null, 'Email'),
      h('dd', null, user.email),
      h('dt', null, 'Member since'),
      h('dd', null, formatDate(user.createdAt)),
    ),
  );
}

function storageCard(user: User): HTMLElement {
  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'storage-title' },
    h('h2', { id: 'storage-title' }, 'Storage'),
  );
  const usage = user.usage;
  if (!usage) {
    card.append(h('p', { class: 'muted' }, 'Storage figures are not available on this server yet.'));
    return card;
  }
  const photos = `${usage.imageCount} photo${usage.imageCount === 1 ? '' : 's'}`;
  if (usage.quotaBytes === null) {
    card.append(h('p', null, `${formatBytes(usage.usedBytes)} used by ${photos}. No storage limit.`));
    return card;
  }
  const label = `${formatBytes(usage.usedBytes)} of ${formatBytes(usage.quotaBytes)} used by ${photos}`;
  card.append(usageBar(usage.usedBytes, usage.quotaBytes, label), h('p', null, label));
  return card;
}

function signOutCard(): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'signout-title' },
    h('h2', { id: 'signout-title' }, 'This device'),
    h('p', { class: 'muted' }, 'Signing out ends this session; your photos stay.'),
    h('button', { type: 'button', class: 'button ghost', onClick: () => void api.logout() }, 'Sign out'),
  );
}

/** A bar in the app's colours (a styled <meter> looks different in every browser), announced as a meter. */
function usageBar(used: number, quota: number, label: string): HTMLElement {
  const fill = h('div', { class: 'usage-fill' });
  const share = quota > 0 ? Math.min(1, used / quota) : 1;
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  if (share >= 0.9) fill.classList.add('high');
  return h(
    'div',
    {
      class: 'usage-bar',
      role: 'meter',
      'aria-label': 'Storage used',
      'aria-valuemin': 0,
      'aria-valuemax': quota,
      'aria-valuenow': used,
      'aria-valuetext': label,
    },
    fill,
  );
}
