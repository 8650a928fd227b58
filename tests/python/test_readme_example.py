# The README's example, kept running: a primary is partitioned away, its replica takes over, and
# only writes the isolated primary acknowledged after it was cut off are lost.
import slotlab


def test_partitioned_primary_fails_over(sim_cluster):
    c, client = sim_cluster, sim_cluster.client()
    old = c.primaries()[0]
    c.partition([[old]])                      # old primary alone; the client still reaches it
    acked = {}
    for i in range(150):                      # write while the cluster notices (30 ms apart)
        try:
            client.set(f"k{i}", i)
            acked[f"k{i}"] = str(i)
        except slotlab.Error:
            pass
        c.run_for(30)
    new = c.run_until(lambda: [n for n in c.primaries() if n.slots == old.slots and n.name != old.name],
                      timeout_ms=30_000)[0]
    c.heal()
    c.run_until(lambda: c.node(old).role == "replica" and c.healthy(), timeout_ms=30_000)
    lost = [k for k, v in acked.items() if client.get(k) != v]
    print(f"{len(lost)} of {len(acked)} acknowledged writes lost; {new.name} replaced {old.name}")
    assert c.node(old).primary == new.id
    assert all(old.owns(c.command(new, "CLUSTER", "KEYSLOT", k)) for k in lost)  # only the cut-off primary's
    assert 0 < len(lost) < len(acked)
