import { h } from '../dom';

/** A labelled input with an optional hint below it: every form of the app builds its fields so. */
export function field(label: string, input: HTMLInputElement, hint?: HTMLElement): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hint);
}

/** The server's rules for a new password (register, change password), shown before they bite. */
export function passwordRules(id: string): HTMLElement {
  return h(
    'ul',
    { class: 'hint', id },
    h('li', null, 'At least 8 characters, up to 72 bytes; spaces and any characters welcome'),
    h('li', null, 'Not a commonly used password, and not your name or email'),
    h('li', null, 'A few unrelated words make a strong one that is easy to remember'),
  );
}

/** Marks the input a failure is about, ties it to the message and puts the cursor there. */
export function markInvalid(input: HTMLInputElement, messageId: string): void {
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-errormessage', messageId);
  input.focus();
}

/** Typing again clears the mark. */
export function clearMarksOnInput(...inputs: HTMLInputElement[]): void {
  for (const input of inputs) {
    input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
  }
}
