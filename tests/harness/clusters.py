"""Aurora clusters on the emulator for the conformance tests: wait for one, add an instance, delete it all, make
a source cluster with a writer."""

from __future__ import annotations

from harness.aws import unique, wait_for

PASSWORD = "Cluster-pass-1"


def describe_cluster(rds, identifier):
    return rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]


def wait_cluster(rds, identifier, timeout=30.0):
    def probe():
        cluster = describe_cluster(rds, identifier)
        return cluster if cluster["Status"] == "available" and not cluster["PendingModifiedValues"] else None

    return wait_for(probe, timeout, what=f"cluster {identifier} available")


def wait_cluster_gone(rds, identifier, timeout=30.0):
    def probe():
        try:
            describe_cluster(rds, identifier)
        except rds.exceptions.DBClusterNotFoundFault:
            return True
        return False

    wait_for(probe, timeout, what=f"cluster {identifier} deleted")


def add_instance(rds, cluster_id, engine, instance_class="db.r6g.large"):
    identifier = f"{cluster_id}-1"
    rds.create_db_instance(
        DBInstanceIdentifier=identifier, DBClusterIdentifier=cluster_id, Engine=engine, DBInstanceClass=instance_class
    )
    return identifier


def wait_instance_available(rds, identifier):
    def probe():
        inst = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
        return inst if inst["DBInstanceStatus"] == "available" else None

    return wait_for(probe, 30, what=f"{identifier} available")


def delete_cluster_fully(rds, cluster_id):
    cluster = describe_cluster(rds, cluster_id)
    for member in cluster["DBClusterMembers"]:
        rds.delete_db_instance(DBInstanceIdentifier=member["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier=cluster_id, SkipFinalSnapshot=True)
    wait_cluster_gone(rds, cluster_id)


def source_cluster(rds, engine):
    identifier = unique("src-aurora")
    rds.create_db_cluster(
        DBClusterIdentifier=identifier, Engine=engine, MasterUsername="app", MasterUserPassword=PASSWORD
    )
    wait_cluster(rds, identifier)
    writer = add_instance(rds, identifier, engine)
    wait_instance_available(rds, writer)
    return wait_cluster(rds, identifier)
