"""Residents report a problem at an asset (contract §9): the public form's side of tickets."""
