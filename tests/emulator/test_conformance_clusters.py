"""Aurora clusters on the emulator, through botocore and the AWS CLI: a cluster restore gives a cluster without
an instance; an instance is added with DBClusterIdentifier; the master password is the cluster's and changes
asynchronously; DeleteDBCluster is refused while the cluster has instances; the DBClusters quota counts."""

from __future__ import annotations

import pytest
from harness.aws import ROLE_ARN, run_sql, unique, wait_backup_job, wait_for, wait_restore_job

PASSWORD = "Cluster-pass-1"
ENGINES = ["aurora-postgresql", "aurora-mysql"]


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


def cluster_sql(cluster, password, sql):
    target = {
        "Engine": "postgres" if "postgres" in cluster["Engine"] else "mysql",
        "Endpoint": {"Address": cluster["Endpoint"], "Port": cluster["Port"]},
        "MasterUsername": cluster["MasterUsername"],
        "DBName": cluster["DatabaseName"],
    }
    return run_sql(target, password, sql)


@pytest.mark.parametrize("engine", ENGINES)
def test_backup_restore_add_instance_reset_and_delete_a_cluster(engine, backup_client, rds_client, emulator):
    source = source_cluster(rds_client, engine)
    assert [m["IsClusterWriter"] for m in source["DBClusterMembers"]] == [True]
    cluster_sql(source, PASSWORD, "CREATE TABLE kept (note varchar(20))")
    cluster_sql(source, PASSWORD, "INSERT INTO kept VALUES ('before')")

    vault = unique("prod")
    backup_client.create_backup_vault(BackupVaultName=vault)
    job = backup_client.start_backup_job(BackupVaultName=vault, ResourceArn=source["DBClusterArn"], IamRoleArn=ROLE_ARN)
    assert ":cluster-snapshot:awsbackup:job-" in job["RecoveryPointArn"]
    done = wait_backup_job(backup_client, job["BackupJobId"])
    assert done["State"] == "COMPLETED" and done["ResourceType"] == "Aurora"
    point = backup_client.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=job["RecoveryPointArn"])
    assert point["ResourceType"] == "Aurora"
    metadata = backup_client.get_recovery_point_restore_metadata(
        BackupVaultName=vault, RecoveryPointArn=job["RecoveryPointArn"]
    )["RestoreMetadata"]
    assert metadata["DBClusterIdentifier"] == source["DBClusterIdentifier"] and metadata["Engine"] == engine
    assert "DBInstanceIdentifier" not in metadata

    rp_arn = job["RecoveryPointArn"]
    with pytest.raises(backup_client.exceptions.InvalidParameterValueException, match="DBClusterIdentifier"):
        backup_client.start_restore_job(RecoveryPointArn=rp_arn, Metadata={"DBInstanceIdentifier": unique("x")})
    with pytest.raises(backup_client.exceptions.InvalidParameterValueException, match="does not match Aurora"):
        backup_client.start_restore_job(
            RecoveryPointArn=rp_arn, Metadata={"DBClusterIdentifier": unique("x")}, ResourceType="RDS"
        )
    elsewhere = backup_client.start_restore_job(
        RecoveryPointArn=rp_arn, Metadata={"DBClusterIdentifier": unique("rst"), "DBSubnetGroupName": "no-such-group"}
    )
    failed = wait_restore_job(backup_client, elsewhere["RestoreJobId"])
    assert failed["Status"] == "FAILED" and failed["StatusMessage"].startswith("DBSubnetGroupNotFoundFault")

    restored_id = unique("rst")
    restore = backup_client.start_restore_job(
        RecoveryPointArn=job["RecoveryPointArn"],
        Metadata={"DBClusterIdentifier": restored_id, "Engine": engine},
        IamRoleArn=ROLE_ARN,
        ResourceType="Aurora",
    )
    finished = wait_restore_job(backup_client, restore["RestoreJobId"])
    assert finished["Status"] == "COMPLETED", finished.get("StatusMessage")
    assert finished["CreatedResourceArn"].endswith(f":cluster:{restored_id}")
    restored = wait_cluster(rds_client, restored_id)
    assert restored["DBClusterMembers"] == []  # AWS Backup adds no instance

    instance_id = add_instance(rds_client, restored_id, engine)
    with pytest.raises(rds_client.exceptions.InvalidDBClusterStateFault):
        rds_client.delete_db_cluster(DBClusterIdentifier=restored_id, SkipFinalSnapshot=True)
    wait_instance_available(rds_client, instance_id)
    with pytest.raises(rds_client.exceptions.ClientError, match="InvalidParameterCombination"):
        rds_client.modify_db_instance(DBInstanceIdentifier=instance_id, MasterUserPassword="Other-pass-99")

    modified = rds_client.modify_db_cluster(
        DBClusterIdentifier=restored_id, MasterUserPassword="Rotated-pass-2", ApplyImmediately=True
    )["DBCluster"]
    assert modified["PendingModifiedValues"] == {"MasterUserPassword": "****"}
    restored = wait_cluster(rds_client, restored_id)
    assert cluster_sql(restored, "Rotated-pass-2", "SELECT note FROM kept") == [("before",)]

    rds_client.delete_db_instance(DBInstanceIdentifier=instance_id, SkipFinalSnapshot=True)
    rds_client.delete_db_cluster(DBClusterIdentifier=restored_id, SkipFinalSnapshot=True)
    wait_cluster_gone(rds_client, restored_id)
    delete_cluster_fully(rds_client, source["DBClusterIdentifier"])


def test_cluster_operations_through_the_aws_cli(aws_cli, emulator, rds_client):
    identifier = unique("cli-aurora")
    created = aws_cli(
        emulator.url, "rds", "create-db-cluster", "--db-cluster-identifier", identifier,
        "--engine", "aurora-postgresql", "--master-username", "app", "--master-user-password", PASSWORD,
        "--serverless-v2-scaling-configuration", "MinCapacity=0.5,MaxCapacity=2",
    )  # fmt: skip
    assert created.code == 0, created.stderr
    assert created.output["DBCluster"]["Status"] == "creating"
    wait_cluster(rds_client, identifier)
    serverless = aws_cli(
        emulator.url, "rds", "create-db-instance", "--db-instance-identifier", f"{identifier}-1",
        "--db-cluster-identifier", identifier, "--engine", "aurora-postgresql", "--db-instance-class", "db.serverless",
    )  # fmt: skip
    assert serverless.code == 0, serverless.stderr
    described = aws_cli(emulator.url, "rds", "describe-db-clusters", "--db-cluster-identifier", identifier)
    cluster = described.output["DBClusters"][0]
    assert cluster["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 2.0}
    assert cluster["DBClusterMembers"][0]["DBInstanceIdentifier"] == f"{identifier}-1"
    refused = aws_cli(
        emulator.url, "rds", "delete-db-cluster", "--db-cluster-identifier", identifier, "--skip-final-snapshot"
    )
    assert refused.code != 0 and "InvalidDBClusterStateFault" in refused.stderr
    missing = aws_cli(emulator.url, "rds", "describe-db-clusters", "--db-cluster-identifier", "no-such-cluster")
    assert missing.code != 0 and "DBClusterNotFoundFault" in missing.stderr
    tagged = aws_cli(
        emulator.url,
        "rds",
        "add-tags-to-resource",
        "--resource-name",
        cluster["DBClusterArn"],
        "--tags",
        "Key=o,Value=1",
    )
    assert tagged.code == 0, tagged.stderr
    delete_cluster_fully(rds_client, identifier)


def test_a_serverless_instance_needs_the_clusters_scaling_configuration(emulator, rds_client):
    identifier = unique("aurora")
    rds_client.create_db_cluster(
        DBClusterIdentifier=identifier, Engine="aurora-postgresql", MasterUsername="app", MasterUserPassword=PASSWORD
    )
    wait_cluster(rds_client, identifier)
    with pytest.raises(rds_client.exceptions.ClientError, match="InvalidParameterCombination"):
        add_instance(rds_client, identifier, "aurora-postgresql", "db.serverless")
    with pytest.raises(rds_client.exceptions.ClientError, match="InvalidParameterValue"):
        rds_client.create_db_instance(
            DBInstanceIdentifier=unique("lone"), Engine="aurora-postgresql", DBInstanceClass="db.r6g.large"
        )
    delete_cluster_fully(rds_client, identifier)


def test_the_db_cluster_quota_is_reported_and_enforced(emulator, rds_client):
    quotas = {q["AccountQuotaName"]: q for q in rds_client.describe_account_attributes()["AccountQuotas"]}
    used = quotas["DBClusters"]["Used"]
    emulator.configure(max_db_clusters=used + 1)
    identifier = unique("aurora")
    rds_client.create_db_cluster(
        DBClusterIdentifier=identifier, Engine="aurora-mysql", MasterUsername="app", MasterUserPassword=PASSWORD
    )
    quotas = {q["AccountQuotaName"]: q for q in rds_client.describe_account_attributes()["AccountQuotas"]}
    assert quotas["DBClusters"]["Used"] == used + 1
    with pytest.raises(rds_client.exceptions.DBClusterQuotaExceededFault):
        rds_client.create_db_cluster(
            DBClusterIdentifier=unique("aurora"), Engine="aurora-mysql", MasterUsername="app",
            MasterUserPassword=PASSWORD,
        )  # fmt: skip
    wait_cluster(rds_client, identifier)
    delete_cluster_fully(rds_client, identifier)
