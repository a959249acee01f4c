import { api, type Session, type User } from '../api';
import { formatBytes, formatDate, formatRelative, h, ICONS, icon } from '../dom';
import { deleteAccountMessage, generalMessage, passwordFormMessage } from '../messages';
import { describeUserAgent, isPhone } from '../user-agent';
import { clearMarksOnInput, field, markInvalid, passwordRules } from './forms';

/**
 * The account screen, one card per concern: profile, storage, where you are signed in (each
 * other session can be ended, or all of them), the password, and deleting the account.
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
    const sessions = sessionsCard();
    cards.append(
      profileCard(user),
      storageCard(user),
      sessions.element,
      passwordCard(user, sessions.reload),
      deleteCard(user),
    );
  });
  return h(
    'section',
    { class: 'account', 'aria-labelledby': 'account-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'account-title', tabIndex: -1 }, 'Account')),
    cards,
  );
}

function card(id: string, title: string, ...children: (HTMLElement | false | undefined)[]): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': id },
    h('h2', { id, tabIndex: -1 }, title),
    ...children,
  );
}

function profileCard(user: User): HTMLElement {
  return card(
    'profile-title',
    'Profile',
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
  const { usage } = user;
  const photos = photoCount(usage.imageCount);
  if (usage.quotaBytes === null) {
    return card(
      'storage-title',
      'Storage',
      h('p', null, `${formatBytes(usage.usedBytes)} used by ${photos}. No storage limit.`),
    );
  }
  const label = `${formatBytes(usage.usedBytes)} of ${formatBytes(usage.quotaBytes)} used by ${photos}`;
  return card(
    'storage-title',
    'Storage',
    usageBar(usage.usedBytes, usage.quotaBytes, label),
    h('p', null, label),
  );
}

const photoCount = (count: number) => `${count} photo${count === 1 ? '' : 's'}`;

/**
 * Where the account is signed in: this browser first, then every other session with a button
 * that ends it; below, signing out here and everywhere (there even when the list fails to load).
 * `reload` is for the password card: a password change ends every other session.
 */
function sessionsCard(): { element: HTMLElement; reload: () => Promise<void> } {
  const list = h('ul', { class: 'sessions', 'aria-labelledby': 'sessions-title' });
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const everywhere = h('button', { type: 'button', class: 'button danger-ghost' }, 'Sign out everywhere');
  everywhere.addEventListener('click', async () => {
    everywhere.disabled = true;
    error.textContent = '';
    // Success signs this browser out as well: the app moves to the sign-in screen by itself.
    const failure = await api.logoutEverywhere();
    everywhere.disabled = false;
    if (failure) error.textContent = generalMessage(failure);
  });

  const row = (session: Session): HTMLElement => {
    const describedBy = `session-${session.id}`;
    const name = describeUserAgent(session.userAgent);
    const action =
      !session.current &&
      h(
        'button',
        { type: 'button', class: 'button danger-ghost small', 'aria-describedby': describedBy },
        'End session',
      );
    if (action) {
      action.addEventListener('click', async () => {
        action.disabled = true;
        error.textContent = '';
        const failure = await api.revokeSession(session.id);
        if (failure) {
          action.disabled = false;
          error.textContent = generalMessage(failure);
          return;
        }
        await reload(`Signed out ${name}.`);
        // The button is gone with its row: keep the keyboard in the card.
        element.querySelector('h2')?.focus();
      });
    }
    return h(
      'li',
      { class: 'session' },
      icon(isPhone(session.userAgent) ? ICONS.phone : ICONS.computer),
      h(
        'div',
        { class: 'session-text', id: describedBy },
        h(
          'p',
          { class: 'session-name', title: session.userAgent ?? undefined },
          name,
          session.current && h('span', { class: 'badge' }, 'This device'),
        ),
        h(
          'p',
          { class: 'muted' },
          `Signed in ${formatDate(session.createdAt)} · last active ${formatRelative(session.lastUsedAt)}`,
        ),
      ),
      action,
    );
  };

  async function reload(done?: string): Promise<void> {
    const { sessions, error: failure } = await api.sessions();
    if (!sessions) {
      status.textContent = '';
      error.textContent = failure ? generalMessage(failure) : 'Could not load your sessions.';
      return;
    }
    list.replaceChildren(...sessions.map(row));
    const others = sessions.filter((session) => !session.current).length;
    const count =
      others === 0
        ? 'No other device is signed in.'
        : `${others} other ${others === 1 ? 'session' : 'sessions'}.`;
    status.textContent = done ? `${done} ${count}` : count;
  }

  const element = card(
    'sessions-title',
    'Where you’re signed in',
    list,
    status,
    error,
    h(
      'div',
      { class: 'card-foot' },
      h(
        'p',
        { class: 'muted' },
        'Lost a phone, or signed in somewhere you shouldn’t have? End that session, or all of them.',
      ),
      h(
        'div',
        { class: 'actions start' },
        h('button', { type: 'button', class: 'button ghost', onClick: () => void api.logout() }, 'Sign out'),
        everywhere,
      ),
    ),
  );
  void reload();
  return { element, reload: () => reload() };
}

/**
 * Change the password: the current one to prove it is you, a new one by register's rules. Every
 * other session ends; this browser continues on the fresh pair the server returns.
 */
function passwordCard(user: User, sessionsChanged: () => Promise<void>): HTMLElement {
  const current = h('input', {
    id: 'current-password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const next = h('input', {
    id: 'new-password',
    type: 'password',
    autocomplete: 'new-password',
    required: true,
    minLength: 8,
    'aria-describedby': 'new-password-rules',
  });
  const message = h('p', { class: 'form-error', role: 'alert', id: 'password-error' });
  const done = h('p', { class: 'form-ok', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Change password');
  clearMarksOnInput(current, next);

  return h(
    'form',
    {
      class: 'card',
      'aria-labelledby': 'password-title',
      async onSubmit(event: Event) {
        event.preventDefault();
        message.textContent = '';
        done.textContent = '';
        submit.disabled = true;
        const failure = await api.changePassword(current.value, next.value);
        submit.disabled = false;
        if (failure) {
          message.textContent = passwordFormMessage(failure);
          const aboutNew = failure.code === 'BAD_USER_INPUT' && failure.field === 'newPassword';
          markInvalid(aboutNew ? next : current, 'password-error');
          return;
        }
        current.value = '';
        next.value = '';
        done.textContent = 'Password changed. Every other device was signed out.';
        await sessionsChanged();
      },
    },
    h('h2', { id: 'password-title', tabIndex: -1 }, 'Password'),
    // For password managers: which account this form changes.
    h('input', {
      type: 'email',
      autocomplete: 'username',
      value: user.email,
      readOnly: true,
      hidden: true,
    }),
    field('Current password', current),
    field('New password', next, passwordRules('new-password-rules')),
    message,
    done,
    h('div', { class: 'actions start' }, submit),
  );
}

/**
 * Deleting the account, behind a dialog that says what goes and asks for the password. The
 * server signs every session out; this browser goes to the sign-in screen, saying why.
 */
function deleteCard(user: User): HTMLElement {
  const password = h('input', {
    id: 'delete-password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const message = h('p', { class: 'form-error', role: 'alert', id: 'delete-error' });
  const keep = h('button', { type: 'button', class: 'button ghost' }, 'Keep my account');
  const confirm = h('button', { type: 'submit', class: 'button danger' }, 'Delete my account');
  clearMarksOnInput(password);
  const photos = photoCount(user.usage.imageCount);
  // Written when the dialog opens: closed, the page shows the address once (in the profile).
  const text = h('p', { id: 'delete-text' });
  const dialog = h(
    'dialog',
    { class: 'card confirm', 'aria-labelledby': 'delete-title', 'aria-describedby': 'delete-text' },
    h(
      'form',
      {
        async onSubmit(event: Event) {
          event.preventDefault();
          message.textContent = '';
          confirm.disabled = true;
          const failure = await api.deleteAccount(password.value);
          confirm.disabled = false;
          if (failure) {
            message.textContent = deleteAccountMessage(failure);
            markInvalid(password, 'delete-error');
            return;
          }
          // Signed out by now: the sign-in screen has replaced this one.
          dialog.close();
        },
      },
      h('h2', { id: 'delete-title' }, 'Delete your account?'),
      text,
      field('Type your password to confirm', password),
      message,
      h('div', { class: 'actions' }, keep, confirm),
    ),
  );
  keep.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    text.textContent = '';
    password.value = '';
    message.textContent = '';
    password.removeAttribute('aria-invalid');
  });
  const open = h(
    'button',
    {
      type: 'button',
      class: 'button danger-ghost',
      onClick: () => {
        text.textContent = `Your account (${user.email}), your ${photos} and every session end for good. This cannot be undone.`;
        dialog.showModal();
        password.focus();
      },
    },
    icon(ICONS.trash),
    'Delete account…',
  );
  return card(
    'delete-title-card',
    'Delete account',
    h(
      'p',
      { class: 'muted' },
      `Deletes your profile and your ${photos}, and signs out every device. The email can be used for a new account afterwards.`,
    ),
    h('div', { class: 'actions start' }, open),
    dialog,
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
