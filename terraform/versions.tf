terraform {
  # Validation conditions that refer to other variables (variables.tf) need 1.9.
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # aws_cloudformation_stack_instances (OU targets) is in the 6.x provider.
      version = ">= 6.0"
    }
  }
}
