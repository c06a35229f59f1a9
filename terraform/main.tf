# Backup Events, wrapped: the same template, as one stack or as a service-managed
# StackSet (var.deployment). The template is read from the repository, so this
# module and the template are always the same release.

locals {
  # At most 51,200 bytes: template_body goes inline, no S3 bucket needed.
  template_body = file("${path.module}/../backup_events_aws.yaml")

  # Template parameters, one per variable (variables.tf).
  parameters = {
    OrgId                       = var.org_id
    BackupAccountId             = var.backup_account_id
    BackupRegion                = var.backup_region
    BackupRegionAlternate       = var.backup_region_alternate
    EnableCopy                  = tostring(var.enable_copy)
    EnableShortenRetention      = tostring(var.enable_shorten_retention)
    NewDeleteAfterDays          = tostring(var.new_delete_after_days)
    BackupsToCover              = var.backups_to_cover
    EnableCatchUpSweep          = tostring(var.enable_catch_up_sweep)
    CatchUpDays                 = tostring(var.catch_up_days)
    CreateSampleVaults          = tostring(var.create_sample_vaults)
    VaultName                   = var.vault_name
    VaultCustomKmsKey           = var.vault_custom_kms_key
    CopyRoleName                = var.copy_role_name
    BackupVaultType             = var.backup_vault_type
    BackupVaultRetention        = var.backup_vault_retention
    AllowCopyBack               = tostring(var.allow_copy_back)
    Copy1Retention              = var.copy1_retention
    Copy2Retention              = var.copy2_retention
    NamePrefix                  = var.name_prefix
    LogLevel                    = var.log_level
    LogRetentionInDays          = tostring(var.log_retention_in_days)
    CloudWatchLogsKmsKey        = var.cloud_watch_logs_kms_key
    SqsKmsKey                   = var.sqs_kms_key
    ErrorQueueRetentionSeconds  = tostring(var.error_queue_retention_seconds)
    FunctionMemorySize          = tostring(var.function_memory_size)
    FunctionTimeout             = tostring(var.function_timeout)
    FunctionReservedConcurrency = tostring(var.function_reserved_concurrency)
    AlertEmail                  = var.alert_email
    AlertTopicArn               = var.alert_topic_arn
    AlertKmsKey                 = var.alert_kms_key
    AlertAfterHours             = tostring(var.alert_after_hours)
  }

  # The template names the function's role (the alert topic admits it by name).
  capabilities = ["CAPABILITY_NAMED_IAM"]
}

# --- One stack, in the provider's account and region ---------------------------

resource "aws_cloudformation_stack" "this" {
  count = var.deployment == "stack" ? 1 : 0

  name          = var.stack_name
  template_body = local.template_body
  parameters    = local.parameters
  capabilities  = local.capabilities
}

# --- A service-managed StackSet, from the management (or delegated admin) account

resource "aws_cloudformation_stack_set" "this" {
  count = var.deployment == "stackset" ? 1 : 0

  name             = var.stack_name
  description      = "Backup Events: copy AWS Backup backups to the backup account and region"
  template_body    = local.template_body
  parameters       = local.parameters
  capabilities     = local.capabilities
  permission_model = "SERVICE_MANAGED"
  call_as          = var.call_as

  auto_deployment {
    enabled                          = var.auto_deployment
    retain_stacks_on_account_removal = false
  }

  lifecycle {
    # AWS sets it for service-managed StackSets.
    ignore_changes = [administration_role_arn]
  }
}

# Two operations, the backup account's instances first: its vaults and event bus must exist
# before the other accounts' rules target that bus (EventBridge checks the target bus when the
# targets are put) and before their copies arrive.
resource "aws_cloudformation_stack_instances" "backup_account" {
  count = var.deployment == "stackset" ? 1 : 0

  stack_set_name = aws_cloudformation_stack_set.this[0].name
  regions        = var.regions
  call_as        = var.call_as

  deployment_targets {
    organizational_unit_ids = var.organizational_unit_ids
    accounts                = [var.backup_account_id]
    account_filter_type     = "INTERSECTION"
  }

  operation_preferences {
    region_concurrency_type   = "PARALLEL"
    max_concurrent_percentage = 100
    failure_tolerance_count   = 0
  }
}

resource "aws_cloudformation_stack_instances" "other_accounts" {
  count = var.deployment == "stackset" ? 1 : 0

  stack_set_name = aws_cloudformation_stack_set.this[0].name
  regions        = var.regions
  call_as        = var.call_as

  deployment_targets {
    organizational_unit_ids = var.organizational_unit_ids
    accounts                = [var.backup_account_id]
    account_filter_type     = "DIFFERENCE"
  }

  operation_preferences {
    region_concurrency_type   = "PARALLEL"
    max_concurrent_percentage = 100
    failure_tolerance_count   = 0
  }

  depends_on = [aws_cloudformation_stack_instances.backup_account]
}
