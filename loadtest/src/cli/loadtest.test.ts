import { planRuns } from './loadtest';

describe('npm run loadtest', () => {
  it('runs both scenarios by default, the login one as the original measurement', () => {
    const runs = planRuns([], new Date('2026-01-02T03:04:05Z'));
    expect(runs.map((r) => r.scenario.userClass)).toEqual(['JourneyUser', 'LoginOnlyUser']);
    const login = runs[1]?.args ?? [];
    expect(login.slice(login.indexOf('--users'), login.indexOf('--users') + 4)).toEqual([
      '--users',
      '100',
      '--spawn-rate',
      '10',
    ]);
    expect(login).toContain('--headless');
    expect(login[login.indexOf('--host') + 1]).toBe('http://localhost:4000');
    expect(login[login.indexOf('--csv') + 1]).toMatch(/reports\/login-2026-01-02T03-04-05$/);
    expect(login[login.indexOf('--html') + 1]).toMatch(/reports\/login-2026-01-02T03-04-05\.html$/);
    expect(login.at(-1)).toBe('LoginOnlyUser');
  });

  it('passes its own options through and everything after -- to locust', () => {
    const [run] = planRuns([
      '--scenario',
      'journey',
      '--host',
      'http://h:1',
      '--users',
      '7',
      '--',
      '--journey-weight',
      '3',
    ]);
    expect(run?.args).toEqual(
      expect.arrayContaining(['--users', '7', '--host', 'http://h:1', '--journey-weight', '3']),
    );
    expect(run?.args.at(-1)).toBe('JourneyUser');
  });

  it('rejects an unknown scenario', () => {
    expect(() => planRuns(['--scenario', 'nope'])).toThrow(/unknown scenario/);
  });
});
