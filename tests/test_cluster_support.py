"""The cluster launchers themselves (issue 18): a three-node Galera cluster and Redis Sentinel
of real processes do what the fault tests will rely on: replication to every node, a killed
node that rejoins with what it missed, quorum kept by two nodes, the certification conflict
the application must retry (MySQL error 1213), and a Redis failover to the replica.

One cluster serves the session (it takes seconds to start; the ``galera`` fixture in
tests/conftest.py); each test leaves every node running again for the next."""

from __future__ import annotations

import time

import pymysql
import pytest
import redis.sentinel

from .support.galera import GaleraCluster, GaleraNode
from .support.http import unique
from .support.sentinel import RedisSentinelSet

# A cluster of real processes takes the machine for minutes: `make test-ha` runs these alone.
pytestmark = [pytest.mark.serial, pytest.mark.ha]

# Generous: the machine is shared and slow at times; these bound waits, not expectations.
DEADLINE = 120.0
ER_LOCK_DEADLOCK = 1213


def over_tcp(cluster: GaleraCluster, index: int, database: str | None = None, **kwargs: object) -> pymysql.Connection:
    """root over TCP from 127.0.0.1, as the application logs in; reads wait for the node to
    have applied everything committed before them (wsrep_sync_wait), so they see other nodes' writes."""
    host, port = cluster.addresses[index]
    conn = pymysql.connect(host=host, port=port, user="root", database=database, autocommit=True,
                           connect_timeout=10, read_timeout=DEADLINE, write_timeout=DEADLINE, **kwargs)
    with conn.cursor() as cur:
        cur.execute("SET SESSION wsrep_sync_wait = 1")
    return conn


def execute(cluster: GaleraCluster, index: int, sql: str, database: str | None = None) -> list[tuple[object, ...]]:
    conn = over_tcp(cluster, index, database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def make_table(cluster: GaleraCluster) -> str:
    """A database of the test's own with a table ``t (id INT PRIMARY KEY, val INT)``."""
    database = unique("galera")
    execute(cluster, 0, f"CREATE DATABASE `{database}`")
    execute(cluster, 0, "CREATE TABLE t (id INT PRIMARY KEY, val INT NOT NULL)", database)
    return database


def wait_for_cluster_size(nodes: list[GaleraNode], size: int) -> None:
    """Until every one of ``nodes`` sees a primary component of ``size`` (a killed node is
    evicted after a few seconds of silence)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        states = [node.status() for node in nodes]
        if all(s["wsrep_cluster_size"] == str(size) and s["wsrep_cluster_status"] == "Primary" for s in states):
            return
        assert time.monotonic() < deadline, f"cluster size never reached {size}: {states}"
        time.sleep(0.2)


def test_a_three_node_cluster_replicates_a_write_to_every_node(galera: GaleraCluster) -> None:
    database = make_table(galera)
    execute(galera, 0, "INSERT INTO t VALUES (1, 10)", database)
    for index in range(3):
        assert execute(galera, index, "SELECT id, val FROM t", database) == [(1, 10)]
        assert execute(galera, index, "SELECT @@wsrep_node_name")[0][0] == f"node{index}"
    assert galera.url(database) == "mysql://root@" + ",".join(f"127.0.0.1:{node.port}" for node in galera.nodes) \
        + f"/{database}"
    assert galera.node_url(2, database) == f"mysql://root@127.0.0.1:{galera.nodes[2].port}/{database}"


def test_a_killed_node_rejoins_and_receives_what_it_missed(galera: GaleraCluster) -> None:
    database = make_table(galera)
    dead = galera.nodes[2]
    dead.kill()
    wait_for_cluster_size(galera.nodes[:2], 2)
    execute(galera, 0, "INSERT INTO t VALUES (1, 10)", database)
    execute(galera, 1, "INSERT INTO t VALUES (2, 20)", database)

    dead.start()

    assert execute(galera, 2, "SELECT id, val FROM t ORDER BY id", database) == [(1, 10), (2, 20)]
    assert dead.status()["wsrep_cluster_size"] == "3"


def test_two_nodes_keep_accepting_writes_after_one_is_killed(galera: GaleraCluster) -> None:
    database = make_table(galera)
    galera.nodes[1].kill()
    # No waiting for the eviction first: a write in the meantime waits for it, then succeeds.
    execute(galera, 0, "INSERT INTO t VALUES (1, 10)", database)
    execute(galera, 2, "INSERT INTO t VALUES (2, 20)", database)
    wait_for_cluster_size([galera.nodes[0], galera.nodes[2]], 2)
    for index in (0, 2):
        assert execute(galera, index, "SELECT id, val FROM t ORDER BY id", database) == [(1, 10), (2, 20)]


def test_a_node_stopped_cleanly_rejoins_and_receives_what_it_missed(galera: GaleraCluster) -> None:
    database = make_table(galera)
    galera.nodes[0].stop()
    wait_for_cluster_size(galera.nodes[1:], 2)
    execute(galera, 1, "INSERT INTO t VALUES (1, 10)", database)

    galera.nodes[0].start()

    assert execute(galera, 0, "SELECT id, val FROM t", database) == [(1, 10)]


def test_the_second_of_two_conflicting_transactions_on_two_nodes_gets_error_1213(galera: GaleraCluster) -> None:
    database = make_table(galera)
    execute(galera, 0, "INSERT INTO t VALUES (1, 0)", database)
    first, second = over_tcp(galera, 0, database), over_tcp(galera, 1, database)
    try:
        for conn, value in ((first, 1), (second, 2)):
            conn.begin()
            with conn.cursor() as cur:
                cur.execute("SELECT val FROM t WHERE id = 1 FOR UPDATE")
                assert cur.fetchall() == ((0,),)  # each node's lock is its own: no waiting here
                cur.execute("UPDATE t SET val = %s WHERE id = 1", (value,))
        first.commit()
        with pytest.raises(pymysql.err.OperationalError) as refused:
            second.commit()
        assert refused.value.args[0] == ER_LOCK_DEADLOCK
    finally:
        first.close()
        second.close()
    for index in range(3):
        assert execute(galera, index, "SELECT val FROM t WHERE id = 1", database) == [(1,)]


def test_sentinel_promotes_the_replica_when_the_primary_is_killed(sentinel_set: RedisSentinelSet) -> None:
    assert sentinel_set.url == "redis+sentinel://" + ",".join(
        f"127.0.0.1:{port}" for _, port in sentinel_set.sentinel_addresses) + "/chat/0"
    client = redis.sentinel.Sentinel(sentinel_set.sentinel_addresses, socket_timeout=5).master_for(
        "chat", socket_timeout=5)
    client.set("before", "1")
    assert client.execute_command("WAIT", 1, int(DEADLINE * 1000)) == 1  # the replica has it

    old = sentinel_set.kill_primary()
    new = sentinel_set.wait_for_failover(old, DEADLINE)

    assert new != old and sentinel_set.primary_port() == new
    assert client.get("before") == b"1"
    client.set("after", "2")
    sentinel_set.restart(old, DEADLINE)
    assert sentinel_set.primary_port() == new
    assert client.get("after") == b"2"
