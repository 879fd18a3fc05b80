-- Validations that FAILED, could not restore or ended in ERROR in the last 7 days, with their failed checks.
SELECT finished_at, source_resource_arn, status, reason, recovery_point_arn, restore_job_id, validation_id,
       origin, restore_testing_plan_arn,
       transform(filter(checks, c -> c.passed = false), c -> c.name || ': ' || coalesce(c.message, '')) AS failed_checks
FROM ${table}
WHERE dt >= date_format(current_date - interval '7' day, '%Y-%m-%d')
  AND status IN ('FAILED', 'RESTORE_FAILED', 'ERROR')
ORDER BY finished_at DESC
