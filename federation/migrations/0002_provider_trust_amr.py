from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("federation", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="identityprovider",
            name="trust_amr",
            field=models.BooleanField(
                default=False,
                help_text="Off (the default): the console asks for its own second factor, as for anyone who has "
                          "one, and MFA counts as present only after it. On: when the ID token's amr claim says the "
                          "provider did multi-factor authentication (mfa, otp, hwk, swk, sc, fpt, face, iris, "
                          "retina or vbm), the session counts as MFA-present from the token's auth_time.",
                verbose_name="trust the provider's MFA (amr claim)"),
        ),
    ]
