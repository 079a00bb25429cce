"""The rules of organisational life and learning (三会一课、补学、学习、合规), with no I/O."""
