"""Aurora clusters on the emulator, through botocore and the AWS CLI: a cluster restore gives a cluster without
an instance; an instance is added with DBClusterIdentifier; the master password is the cluster's and changes
asynchronously; DeleteDBCluster is refused while the cluster has instances; the DBClusters quota counts."""

from __future__ import annotations

import pytest
from harness.aws import ROLE_ARN, run_sql, unique, wait_backup_job, wait_restore_job
from harness.clusters import (
    PASSWORD,
    add_instance,
    delete_cluster_fully,
    source_cluster,
    wait_cluster,
    wait_cluster_gone,
    wait_instance_available,
)

ENGINES = ["aurora-postgresql", "aurora-mysql"]


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
