"""Creates the lab's database and users: python3 -m labsite.setup_db USERS.json

USERS.json maps usernames to passwords (written by the traffic driver's
--write-users, so the driver and the site agree).
"""

import json
import os
import sys


def main(argv):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labsite.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    with open(argv[1], encoding="utf-8") as f:
        users = json.load(f)
    model = get_user_model()
    for name, password in users.items():
        user, _ = model.objects.get_or_create(username=name)
        user.set_password(password)
        user.save()
    print("lab: %d users in %s" % (len(users), os.environ["LAB_DB"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
