# One variable per template parameter, same meaning, the name in snake_case
# (OrgId -> org_id, CloudWatchLogsKmsKey -> cloud_watch_logs_kms_key). Defaults
# are the template's; validation is left to the template's own constraints.
# Then the module's own settings: how to deploy, and where, validated here (their
# conditions refer to other variables: Terraform >= 1.9).

# --- Template parameters -----------------------------------------------------

variable "org_id" {
  type        = string
  description = "OrgId: only this organization's accounts may copy into the backup vaults (o-...)"
}

variable "backup_account_id" {
  type        = string
  description = "BackupAccountId: the account that keeps the copies"
}

variable "backup_region" {
  type        = string
  description = "BackupRegion: receives copy 2 of every backup"
}

variable "backup_region_alternate" {
  type        = string
  description = "BackupRegionAlternate: receives copy 2 of the backups made in the backup region"
}

variable "enable_copy" {
  type        = bool
  default     = true
  description = "EnableCopy: false pauses copying"
}

variable "enable_shorten_retention" {
  type        = bool
  default     = true
  description = "EnableShortenRetention: once copy 1 exists, shorten the original's retention"
}

variable "new_delete_after_days" {
  type        = string
  default     = "7"
  description = "NewDeleteAfterDays: delete originals this many days after creation, plus one (a whole number, 1 to 36500)"
  validation {
    condition     = can(regex("^([1-9][0-9]{0,3}|[12][0-9]{4}|3[0-5][0-9]{3}|36[0-4][0-9]{2}|36500)$", var.new_delete_after_days))
    error_message = "new_delete_after_days: a whole number of days from 1 to 36500."
  }
}

variable "backups_to_cover" {
  type        = string
  default     = "all"
  description = "BackupsToCover: all, on-demand or scheduled"
}

variable "enable_catch_up_sweep" {
  type        = bool
  default     = true
  description = "EnableCatchUpSweep: once a day, do what lost events left undone"
}

variable "catch_up_days" {
  type        = string
  default     = "7"
  description = "CatchUpDays: how far back the sweep looks (a whole number of days, 1 to 365)"
  validation {
    condition     = can(regex("^([1-9][0-9]?|[12][0-9]{2}|3[0-5][0-9]|36[0-5])$", var.catch_up_days))
    error_message = "catch_up_days: a whole number of days from 1 to 365."
  }
}

variable "create_sample_vaults" {
  type        = bool
  default     = true
  description = "CreateSampleVaults: false = bring your own vault, named vault_name, everywhere"
}

variable "vault_name" {
  type        = string
  default     = "BackupEvents-Sample"
  description = "VaultName: the watched vault; the same name in every account and region"
}

variable "vault_custom_kms_key" {
  type        = string
  default     = ""
  description = "VaultCustomKmsKey: empty = aws/backup; else a multi-region key's ARN"
}

variable "copy_role_name" {
  type        = string
  default     = "service-role/AWSBackupDefaultServiceRole"
  description = "CopyRoleName: the role AWS Backup assumes for copies, in every account"
}

variable "backup_vault_type" {
  type        = string
  default     = "standard"
  description = "BackupVaultType: standard, or air-gapped (logically air-gapped vaults in the backup account)"
}

variable "backup_vault_retention" {
  type        = string
  default     = "none"
  description = "BackupVaultRetention: none, or MIN-MAX days of the backup vaults' lock or air-gapped limits"
}

variable "allow_copy_back" {
  type        = bool
  default     = false
  description = "AllowCopyBack: the sample vaults admit backup-events copy-back"
}

variable "copy1_retention" {
  type        = string
  default     = "inherit"
  description = "Copy1Retention: inherit, DAYS or DAYS/COLD for copy 1 (backup account)"
}

variable "copy2_retention" {
  type        = string
  default     = "inherit"
  description = "Copy2Retention: inherit, DAYS or DAYS/COLD for copy 2 (backup region)"
}

variable "name_prefix" {
  type        = string
  default     = "BackupEvents"
  description = "NamePrefix: names the function, rules, bus and queue"
}

variable "log_level" {
  type        = string
  default     = "INFO"
  description = "LogLevel: TRACE, DEBUG, INFO, WARN, ERROR or FATAL"
}

variable "log_retention_in_days" {
  type        = number
  default     = 30
  description = "LogRetentionInDays: one of the periods CloudWatch Logs offers"
}

variable "cloud_watch_logs_kms_key" {
  type        = string
  default     = ""
  description = "CloudWatchLogsKmsKey: empty = default encryption"
}

variable "sqs_kms_key" {
  type        = string
  default     = ""
  description = "SqsKmsKey: empty = SQS-managed encryption"
}

variable "error_queue_retention_seconds" {
  type        = number
  default     = 1209600
  description = "ErrorQueueRetentionSeconds: 60 to 1209600 (14 days)"
}

variable "function_memory_size" {
  type        = number
  default     = 128
  description = "FunctionMemorySize: MB"
}

variable "function_timeout" {
  type        = number
  default     = 120
  description = "FunctionTimeout: seconds"
}

variable "function_reserved_concurrency" {
  type        = number
  default     = 5
  description = "FunctionReservedConcurrency: paces bursts to AWS Backup's API rates; 0 = none reserved"
}

variable "alert_email" {
  type        = string
  default     = ""
  description = "AlertEmail: alerts by e-mail; the backup account's stack in the backup region creates the topic"
}

variable "alert_topic_arn" {
  type        = string
  default     = ""
  description = "AlertTopicArn: or your own topic, which must admit the roles NamePrefix-Function-*"
}

variable "alert_kms_key" {
  type        = string
  default     = ""
  description = "AlertKmsKey: the alert topic's KMS key, if any"
}

variable "alert_after_hours" {
  type        = string
  default     = "24"
  description = "AlertAfterHours: a backup without its copy this many hours is a gap; the daily sweep alerts (1 to 8760)"
  validation {
    condition     = can(regex("^([1-9][0-9]{0,2}|[1-7][0-9]{3}|8[0-6][0-9]{2}|87[0-5][0-9]|8760)$", var.alert_after_hours))
    error_message = "alert_after_hours: a whole number of hours from 1 to 8760."
  }
}

# --- The module's own settings -------------------------------------------------

variable "deployment" {
  type        = string
  default     = "stack"
  description = "stack: one aws_cloudformation_stack in the provider's account and region; stackset: a service-managed StackSet with instances in organizational_unit_ids x regions"

  validation {
    condition     = contains(["stack", "stackset"], var.deployment)
    error_message = "deployment must be \"stack\" or \"stackset\"."
  }
}

variable "stack_name" {
  type        = string
  default     = "BackupEvents"
  description = "Name of the stack or StackSet (the template's suggested name by default)"
}

variable "organizational_unit_ids" {
  type        = list(string)
  default     = []
  description = "stackset: the OUs (or root r-...) whose accounts get instances"

  validation {
    condition     = var.deployment != "stackset" || length(var.organizational_unit_ids) > 0
    error_message = "organizational_unit_ids: give at least one OU (or the root r-...) for deployment = \"stackset\"."
  }
}

variable "regions" {
  type        = list(string)
  default     = []
  description = "stackset: regions of the instances: where backups are, plus backup_region and backup_region_alternate"

  validation {
    condition     = var.deployment != "stackset" || length(var.regions) > 0
    error_message = "regions: give at least one region for deployment = \"stackset\"."
  }

  validation {
    condition     = var.deployment != "stackset" || (contains(var.regions, var.backup_region) && contains(var.regions, var.backup_region_alternate))
    error_message = "regions must include backup_region and backup_region_alternate: the backup account needs an instance in both."
  }
}

variable "auto_deployment" {
  type        = bool
  default     = true
  description = "stackset: deploy to accounts that join the OUs later"
}

variable "call_as" {
  type        = string
  default     = "SELF"
  description = "stackset: SELF (management account) or DELEGATED_ADMIN"
}
