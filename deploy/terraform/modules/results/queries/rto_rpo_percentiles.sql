-- Restore duration (RTO) and data gap (RPO) percentiles in minutes per source resource over the lookback window.
SELECT source_resource_arn, resource_type, engine, count(*) AS validations,
       approx_percentile(restore_duration, 0.5) AS rto_p50_minutes,
       approx_percentile(restore_duration, 0.9) AS rto_p90_minutes,
       approx_percentile(restore_duration, 0.99) AS rto_p99_minutes,
       max(restore_duration) AS rto_max_minutes,
       approx_percentile(data_gap_minutes, 0.5) AS rpo_p50_minutes,
       approx_percentile(data_gap_minutes, 0.9) AS rpo_p90_minutes,
       approx_percentile(data_gap_minutes, 0.99) AS rpo_p99_minutes,
       max(data_gap_minutes) AS rpo_max_minutes
FROM ${table}
WHERE dt >= date_format(current_date - interval '${lookback_days}' day, '%Y-%m-%d')
  AND status <> 'SKIPPED'
GROUP BY source_resource_arn, resource_type, engine
ORDER BY rto_p90_minutes DESC
