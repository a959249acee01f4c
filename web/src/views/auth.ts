import { api } from '../api';
import { h } from '../dom';
import { generalMessage } from '../messages';
import { clearMarksOnInput, field, markInvalid, passwordRules } from './forms';

/**
 * Sign in and create an account: one card, two modes, the password rules shown before they bite.
 * `notice` says how the last session ended (revoked elsewhere, account deleted, ...): the heading
 * that takes the focus is described by it, so a screen reader reads it out too.
 */
export function authView(mode: 'signin' | 'register', onSignedIn: () => void, notice?: string): HTMLElement {
  const registering = mode === 'register';
  const error = h('p', { class: 'form-error', role: 'alert', id: 'auth-error' });

  const name = h('input', { id: 'name', name: 'name', autocomplete: 'name', required: true, maxLength: 100 });
  const email = h('input', {
    id: 'email',
    name: 'email',
    type: 'email',
    autocomplete: 'email',
    required: true,
  });
  const password = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    required: true,
    autocomplete: registering ? 'new-password' : 'current-password',
    minLength: registering ? 8 : undefined,
    'aria-describedby': registering ? 'password-rules' : undefined,
  });
  const rules = passwordRules('password-rules');
  const submit = h(
    'button',
    { type: 'submit', class: 'button primary wide' },
    registering ? 'Create account' : 'Sign in',
  );

  const form = h(
    'form',
    {
      class: 'card auth-card',
      'aria-labelledby': 'auth-title',
      async onSubmit(event: Event) {
        event.preventDefault();
        error.textContent = '';
        submit.disabled = true;
        submit.textContent = registering ? 'Creating account…' : 'Signing in…';
        const failure = registering
          ? await api.register(name.value, email.value, password.value)
          : await api.login(email.value, password.value);
        submit.disabled = false;
        submit.textContent = registering ? 'Create account' : 'Sign in';
        if (!failure) return onSignedIn();
        error.textContent =
          failure.code === 'UNAUTHENTICATED' ? 'Wrong email or password.' : generalMessage(failure);
        const target = { name, email, password }[failure.field as 'name' | 'email' | 'password'] ?? email;
        markInvalid(target, 'auth-error');
      },
    },
    h(
      'h1',
      { id: 'auth-title', tabIndex: -1, 'aria-describedby': notice ? 'auth-notice' : undefined },
      registering ? 'Create your account' : 'Welcome back',
    ),
    notice
      ? h('p', { class: 'notice', id: 'auth-notice', role: 'status' }, notice)
      : h(
          'p',
          { class: 'muted' },
          registering ? 'Keep your photos in one private place.' : 'Sign in to see your photos.',
        ),
    registering && field('Name', name),
    field('Email', email),
    field('Password', password, registering ? rules : undefined),
    error,
    submit,
    h(
      'p',
      { class: 'switch' },
      registering ? 'Already have an account? ' : 'New here? ',
      h(
        'a',
        { href: registering ? '#/signin' : '#/register' },
        registering ? 'Sign in' : 'Create an account',
      ),
    ),
  );
  clearMarksOnInput(name, email, password);
  return h(
    'div',
    { class: 'auth-page' },
    h('div', { class: 'auth-brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'imagehub'),
    form,
  );
}
