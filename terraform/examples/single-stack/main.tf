# The minimum layout (DESIGN.md 2) as 3 single stacks, backup account first.
# Profiles "main" and "backup" are your AWS CLI profiles for the two accounts.

locals {
  org_id            = "o-a1b2c3d4e5"
  backup_account_id = "999977775555"
}

provider "aws" {
  alias   = "backup_east"
  profile = "backup"
  region  = "us-east-1"
}

provider "aws" {
  alias   = "backup_west"
  profile = "backup"
  region  = "us-west-2"
}

provider "aws" {
  alias   = "main_east"
  profile = "main"
  region  = "us-east-1"
}

module "backup_us_east_1" {
  source    = "../.."
  providers = { aws = aws.backup_east }

  org_id                  = local.org_id
  backup_account_id       = local.backup_account_id
  backup_region           = "us-west-2"
  backup_region_alternate = "us-east-1"
}

module "backup_us_west_2" {
  source    = "../.."
  providers = { aws = aws.backup_west }

  org_id                  = local.org_id
  backup_account_id       = local.backup_account_id
  backup_region           = "us-west-2"
  backup_region_alternate = "us-east-1"
}

module "main_us_east_1" {
  source    = "../.."
  providers = { aws = aws.main_east }

  org_id                  = local.org_id
  backup_account_id       = local.backup_account_id
  backup_region           = "us-west-2"
  backup_region_alternate = "us-east-1"
  new_delete_after_days   = "7"

  # The backup account's vaults and event bus first.
  depends_on = [module.backup_us_east_1, module.backup_us_west_2]
}

output "error_queue_urls" {
  value = {
    backup_us_east_1 = module.backup_us_east_1.error_queue_url
    backup_us_west_2 = module.backup_us_west_2.error_queue_url
    main_us_east_1   = module.main_us_east_1.error_queue_url
  }
}
