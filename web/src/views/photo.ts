import { api } from '../api';
import { formatBytes, formatDate, h, ICONS, icon } from '../dom';
import { generalMessage } from '../messages';
import { renewWhenExpired } from './gallery';

/** One photo, large, with its details and a delete that asks first. */
export function photoView(id: string, onDeleted: (id: string) => void): HTMLElement {
  const back = h('a', { href: '#/', class: 'button ghost' }, icon(ICONS.back), 'All photos');
  const body = h('div', { class: 'photo-body' }, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const view = h(
    'section',
    { class: 'photo', 'aria-labelledby': 'photo-title' },
    h('div', { class: 'photo-bar' }, back),
    body,
  );

  void api.image(id).then(({ image, error }) => {
    body.replaceChildren();
    if (!image) {
      body.append(
        h('h1', { id: 'photo-title', tabIndex: -1 }, 'Photo not found'),
        h('p', { class: 'muted' }, error ? generalMessage(error) : 'It may have been deleted.'),
      );
      return;
    }
    const img = h('img', { src: image.url, alt: image.filename, width: image.width, height: image.height });
    renewWhenExpired(img, image.id, 'url');
    const error$ = h('p', { class: 'form-error', role: 'alert' });
    const confirmDelete = h('button', { type: 'button', class: 'button danger' }, 'Delete photo');
    const cancel = h('button', { type: 'button', class: 'button ghost', autofocus: true }, 'Keep it');
    const dialog = h(
      'dialog',
      { class: 'card confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
      h('h2', { id: 'confirm-title' }, 'Delete this photo?'),
      h(
        'p',
        { id: 'confirm-text', class: 'muted' },
        `“${image.filename}” will be gone for good, and its links stop working.`,
      ),
      error$,
      h('div', { class: 'actions' }, cancel, confirmDelete),
    );
    cancel.addEventListener('click', () => dialog.close());
    confirmDelete.addEventListener('click', async () => {
      confirmDelete.disabled = true;
      const failure = await api.deleteImage(image.id);
      confirmDelete.disabled = false;
      if (failure && failure.code !== 'NOT_FOUND') {
        error$.textContent = generalMessage(failure);
        return;
      }
      dialog.close();
      onDeleted(image.id);
    });
    const remove = h(
      'button',
      { type: 'button', class: 'button danger-ghost', onClick: () => dialog.showModal() },
      icon(ICONS.trash),
      'Delete',
    );
    const detail = (term: string, value: string) => [h('dt', null, term), h('dd', null, value)];
    body.append(
      h('figure', { class: 'photo-frame' }, img),
      h(
        'aside',
        { class: 'card photo-info' },
        h('h1', { id: 'photo-title', tabIndex: -1 }, image.filename),
        h(
          'dl',
          null,
          detail('Dimensions', `${image.width} × ${image.height} px`),
          detail('Size', formatBytes(image.byteSize)),
          detail('Type', image.contentType.replace('image/', '').toUpperCase()),
          detail('Uploaded', formatDate(image.createdAt)),
        ),
        h(
          'div',
          { class: 'actions' },
          h('a', { href: image.url, class: 'button ghost', download: image.filename }, 'Download'),
          remove,
        ),
      ),
      dialog,
    );
    (body.querySelector('h1') as HTMLElement).focus();
  });
  return view;
}
