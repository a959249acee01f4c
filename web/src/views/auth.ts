import { api } from '../api';
import { h } from '../dom';
import { generalMessage } from '../messages';

/** Sign in and create an account: one card, two modes, the password rules shown before they bite. */
export function authView(mode: 'signin' | 'register', onSignedIn: () => void): HTMLElement {
  const registering = mode === 'register';
  const error = h('p', { class: 'form-error', role: 'alert', id: 'auth-error' });
  const field = (label: string, input: HTMLInputElement, hint?: HTMLElement) =>
    h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hint);

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
  const rules = h(
    'ul',
    { class: 'hint', id: 'password-rules' },
    h('li', null, 'At least 8 characters, up to 72 bytes; spaces and any characters welcome'),
    h('li', null, 'Not a commonly used password, and not your name or email'),
    h('li', null, 'A few unrelated words make a strong one that is easy to remember'),
  );
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
        target.setAttribute('aria-invalid', 'true');
        target.setAttribute('aria-errormessage', 'auth-error');
        target.focus();
      },
    },
    h('h1', { id: 'auth-title', tabIndex: -1 }, registering ? 'Create your account' : 'Welcome back'),
    h(
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
  for (const input of [name, email, password]) {
    input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
  }
  return h(
    'div',
    { class: 'auth-page' },
    h('div', { class: 'auth-brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'imagehub'),
    form,
  );
}
