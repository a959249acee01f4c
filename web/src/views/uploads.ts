import { api, type Image } from '../api';
import { formatBytes, h } from '../dom';
import { uploadMessage } from '../messages';

/** Two at a time: enough to keep the line busy without tripping the per-user upload limits. */
const CONCURRENCY = 2;

interface Job {
  file: File;
  row: HTMLLIElement;
  progress: HTMLProgressElement;
  message: HTMLElement;
}

/** The upload tray: one row per file with its progress bar and, when it fails, why in plain words. */
export class Uploads {
  readonly element: HTMLElement;
  private readonly list = h('ul', { class: 'upload-list' });
  private readonly title = h('h2', { id: 'uploads-title' }, 'Uploads');
  private readonly queue: Job[] = [];
  private running = 0;

  constructor(private readonly onUploaded: (image: Image) => void) {
    this.element = h(
      'section',
      { class: 'uploads', hidden: true, 'aria-labelledby': 'uploads-title' },
      h(
        'div',
        { class: 'uploads-head' },
        this.title,
        h(
          'button',
          { type: 'button', class: 'button ghost small', onClick: () => this.clearFinished() },
          'Clear',
        ),
      ),
      this.list,
    );
  }

  add(files: Iterable<File>): void {
    for (const file of files) {
      const progress = h('progress', { max: 1, value: 0, 'aria-label': `Upload progress of ${file.name}` });
      const message = h('p', { class: 'upload-message', 'aria-live': 'polite' }, 'Waiting…');
      const row = h(
        'li',
        { class: 'upload pending' },
        h(
          'div',
          { class: 'upload-name' },
          h('span', null, file.name),
          h('span', { class: 'muted' }, formatBytes(file.size)),
        ),
        progress,
        message,
      );
      this.list.prepend(row);
      this.queue.push({ file, row, progress, message });
    }
    this.element.hidden = this.list.childElementCount === 0;
    this.pump();
  }

  private pump(): void {
    while (this.running < CONCURRENCY && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.run(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(job: Job): Promise<void> {
    job.row.className = 'upload active';
    job.message.textContent = 'Uploading…';
    const { image, error } = await api.upload(job.file, (fraction) => {
      job.progress.value = fraction;
      if (fraction >= 1) job.message.textContent = 'Processing…';
    });
    if (image) {
      job.progress.value = 1;
      job.row.className = 'upload done';
      job.message.textContent = 'Uploaded';
      this.onUploaded(image);
      return;
    }
    job.row.className = 'upload failed';
    job.progress.value = 0;
    job.message.textContent = error ? uploadMessage(error) : 'The upload failed.';
    if (
      error?.code === 'TOO_MANY_REQUESTS' ||
      error?.code === 'SERVICE_UNAVAILABLE' ||
      error?.code === 'NETWORK_ERROR'
    ) {
      const retry = h('button', { type: 'button', class: 'button ghost small' }, 'Retry');
      const wait = (error.retryAfter ?? 0) * 1000;
      if (wait > 0) {
        retry.disabled = true;
        setTimeout(() => {
          retry.disabled = false;
        }, wait);
      }
      retry.addEventListener('click', () => {
        retry.remove();
        this.queue.push(job);
        this.pump();
      });
      job.message.append(' ', retry);
    }
  }

  private clearFinished(): void {
    for (const row of [...this.list.children]) {
      if (row.classList.contains('done') || row.classList.contains('failed')) row.remove();
    }
    this.element.hidden = this.list.childElementCount === 0;
  }
}
