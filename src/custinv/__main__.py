"""``python -m custinv``: the same app as the ``custinv`` command."""

from custinv.launch import main

if __name__ == "__main__":
    main()
