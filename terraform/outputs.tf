output "stack_id" {
  description = "stack: the stack's ID"
  value       = one(aws_cloudformation_stack.this[*].id)
}

output "error_queue_url" {
  description = "stack: the error queue (backup-events redrive reads it)"
  value       = one(aws_cloudformation_stack.this[*].outputs["ErrorQueueUrl"])
}

output "function_name" {
  description = "stack: the function"
  value       = one(aws_cloudformation_stack.this[*].outputs["FunctionName"])
}

output "vault_arn" {
  description = "stack: the watched vault"
  value       = one(aws_cloudformation_stack.this[*].outputs["VaultArn"])
}

output "stack_set_id" {
  description = "stackset: the StackSet's ID"
  value       = one(aws_cloudformation_stack_set.this[*].stack_set_id)
}

output "stack_instance_summaries" {
  description = "stackset: account, region and stack of each instance"
  value = concat(
    flatten(aws_cloudformation_stack_instances.backup_account[*].stack_instance_summaries),
    flatten(aws_cloudformation_stack_instances.other_accounts[*].stack_instance_summaries),
  )
}
