// Policy editor behaviours.
