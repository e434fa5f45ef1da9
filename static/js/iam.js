// IAM console behaviours.
