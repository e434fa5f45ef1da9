"""The IAM console's pages: directory (users, groups, grants, audit) and policies (editor, simulator)."""
