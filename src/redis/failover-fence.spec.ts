import { describe, expect, it } from 'vitest';
import { replicasLeftOldPrimary, sentinelView, signNamesMaster } from './failover-fence.js';

/** SENTINEL MASTER / REPLICAS entries as Redis 7.0 sentinels answered them during a drill (trimmed). */
const entry = (port: number, flags: string) => [
  'name',
  'pick',
  'ip',
  '127.0.0.1',
  'port',
  String(port),
  'flags',
  flags,
];

describe('the failover fence reads the sentinels', () => {
  it('names only this primary in a sign, except a vote, which names none', () => {
    expect(signNamesMaster('+odown', 'master pick 127.0.0.1 4230 #quorum 2/2', 'pick')).toBe(true);
    expect(signNamesMaster('+odown', 'master shop 127.0.0.1 4230 #quorum 2/2', 'pick')).toBe(false);
    expect(signNamesMaster('+try-failover', 'master pick 127.0.0.1 4230', 'pick')).toBe(true);
    expect(signNamesMaster('+switch-master', 'pick 127.0.0.1 4230 127.0.0.1 4232', 'pick')).toBe(true);
    expect(signNamesMaster('+switch-master', 'picker 127.0.0.1 4230 127.0.0.1 4232', 'pick')).toBe(false);
    expect(signNamesMaster('+new-epoch', '3', 'pick')).toBe(true);
  });

  it('a sentinel leading a failover, one that finds the primary down, one that sees nothing', () => {
    expect(sentinelView(entry(4230, 's_down,o_down,master,failover_in_progress'))).toBe('leading');
    expect(sentinelView(entry(4230, 'master,failover_in_progress'))).toBe('leading');
    expect(sentinelView(entry(4230, 's_down,o_down,master'))).toBe('down');
    // Subjectively down is one sentinel's view: no failover without a quorum.
    expect(sentinelView(entry(4230, 's_down,master'))).toBe('clear');
    expect(sentinelView(entry(4232, 'master'))).toBe('clear');
    expect(sentinelView(entry(4232, 'master,disconnected'))).toBe('clear');
  });

  it('the brain can split until every replica of the old primary is promoted, follows the new one, or is down', () => {
    // Electing, then promoting: the other replica still follows the old primary.
    expect(replicasLeftOldPrimary([entry(4231, 'slave'), entry(4232, 'slave')])).toBe(false);
    expect(replicasLeftOldPrimary([entry(4231, 'slave'), entry(4232, 'slave,promoted')])).toBe(false);
    // Told to follow the new one, not yet seen doing it.
    expect(replicasLeftOldPrimary([entry(4231, 'slave,reconf_sent'), entry(4232, 'slave,promoted')])).toBe(false);
    expect(replicasLeftOldPrimary([entry(4231, 'slave,disconnected,reconf_sent'), entry(4232, 'slave,promoted')])).toBe(
      false,
    );
    expect(replicasLeftOldPrimary([entry(4231, 'slave,reconf_inprog'), entry(4232, 'slave,promoted')])).toBe(true);
    expect(replicasLeftOldPrimary([entry(4231, 'slave,reconf_done'), entry(4232, 'slave,promoted')])).toBe(true);
    expect(replicasLeftOldPrimary([entry(4231, 's_down,slave'), entry(4232, 'slave,promoted')])).toBe(true);
  });
});
