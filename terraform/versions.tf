terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # aws_cloudformation_stack_instances (OU targets) is in the 6.x provider.
      version = ">= 6.0"
    }
  }
}
